"""Who may do what: passwords, sessions, and the one access rule."""
