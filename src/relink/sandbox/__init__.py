"""The sandbox provider: a real OAuth 2.0 server and data API that stands in for real providers."""
