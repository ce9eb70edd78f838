"""Models: LightGBM classifiers and the uplift regressor, calibration, baselines and metrics (no I/O)."""
