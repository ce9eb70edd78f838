"""Execution engines behind one seam (docs/design.md section 7).

A command opens one engine with `open_engine(config)` and hands it to the stages in `potential.app`; that
context manager is the only reader of the engine setting. `pandas` runs everything in this process; `dask`
keeps the events and the per-account work on a Dask cluster. Both build the same feature table, the same
training slices and the same scores (tests/engines/test_parity.py): an engine changes where work runs, never
what it computes.

Engines import the domain packages (data, features, labels, models, scoring); the domain packages never
import an engine, and nothing here imports `potential.app`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from potential.config import Config, EngineConfig
from potential.engines.base import D, Engine, InputData, Progress, Scored, TableSummary
from potential.errors import PotentialError

__all__ = ["D", "Engine", "InputData", "Progress", "Scored", "TableSummary", "open_engine"]


@contextlib.contextmanager
def open_engine(config: Config | EngineConfig) -> Iterator[Engine[Any]]:
    """The engine for one command: the only place that reads the engine setting."""
    settings = config.engine if isinstance(config, Config) else config
    full = config if isinstance(config, Config) else Config(engine=settings)
    match settings.kind:
        case "pandas":
            if settings.scheduler:
                raise PotentialError(
                    "engine.scheduler (--scheduler) is for the dask engine; add --engine dask (or drop the scheduler)."
                )
            from potential.engines.pandas_engine import PandasEngine

            yield PandasEngine(full)
        case "dask":
            from potential.engines import dask_engine

            with dask_engine.session(settings.scheduler, settings.workers) as client:
                try:
                    yield dask_engine.DaskEngine(full, client)
                except dask_engine.LOST_WORK as exc:
                    dask_engine.raise_lost_work(exc)
        case other:  # pragma: no cover - the config's Literal refuses it first
            raise PotentialError(f"engine '{other}' is not known; use pandas or dask.")
