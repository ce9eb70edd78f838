"""Scoring: calibrated scores with their explanations, the rating profile and the ranked list (no I/O)."""
