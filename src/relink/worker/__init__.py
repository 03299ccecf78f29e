"""Jobs: registered once, run in-process (embedded) or on Celery (scaled), the same code."""
