"""Execution engines: `pandas` runs in this process; `dask` runs the heavy steps on a Dask cluster."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from potential.config import Config
from potential.errors import PotentialError


@contextlib.contextmanager
def session(config: Config, scheduler: str | None = None) -> Iterator[Any]:
    """The engine's context for one command: a Dask client for the dask engine, nothing for pandas."""
    if config.engine != "dask":
        if scheduler:
            raise PotentialError(
                "--scheduler is for the dask engine; add --engine dask (or drop --scheduler)."
            )
        yield None
        return
    from potential import dask_engine

    with dask_engine.session(scheduler) as client:
        yield client
