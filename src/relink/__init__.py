"""Relink keeps the data-source connections of multi-client reporting platforms healthy."""
