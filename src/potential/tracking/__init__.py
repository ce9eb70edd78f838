"""Tracking: the only package that talks to MLflow (runs, registry, champions)."""
