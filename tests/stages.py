"""Shortcuts for tests: the Python API's stages under the names the tests use."""

from __future__ import annotations

from potential.api import load_dataset as load
from potential.api import rank, train

__all__ = ["load", "rank", "train"]
