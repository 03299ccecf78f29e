"""What an operator watches: liveness and readiness, Prometheus metrics, request ids.

Not to be confused with ``relink.metrics``, the daily figures imported from providers.
"""
