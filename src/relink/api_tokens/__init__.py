"""Personal API tokens: created once, stored hashed, sent as ``Authorization: Bearer``."""
