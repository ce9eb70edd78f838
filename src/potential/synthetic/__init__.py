"""Synthetic B2B portfolio with known ground truth: the demo data."""
