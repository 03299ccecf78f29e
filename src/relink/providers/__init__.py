"""Talking to the outside: the catalog, the OAuth/API-key client and the error classifier."""
