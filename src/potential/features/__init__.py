"""Point-in-time features: pure functions of frames + as_of that see only events strictly before as_of."""

from potential.features.build import build_features, prepare
from potential.features.registry import describe

__all__ = ["build_features", "describe", "prepare"]
