"""Small shared plumbing: secrets at rest, pagination, locks."""
