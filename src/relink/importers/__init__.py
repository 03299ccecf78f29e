"""Relink under another platform's importers: fresh credentials on request, the failures they
meet reported and decided with Relink's own rules, and the days they imported confirmed."""
