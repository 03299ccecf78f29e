"""Pages and the JSON API: thin endpoints that parse, authorize and call services."""
