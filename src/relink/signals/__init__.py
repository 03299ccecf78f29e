"""Detection: providers' revocation signals, received and verified, and the cheap probe."""
