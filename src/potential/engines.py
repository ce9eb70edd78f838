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
    from distributed import KilledWorker
    from distributed.client import FutureCancelledError

    from potential import dask_engine, interrupt

    with dask_engine.session(scheduler) as client:
        try:
            yield client
        except (FutureCancelledError, KilledWorker) as exc:
            # a stop asked for mid-computation can cancel the tasks in flight: report it as the stop it is
            interrupt.check()
            raise PotentialError(
                f"the Dask cluster lost work it was doing ({type(exc).__name__}: {exc}); nothing was written. "
                "Rerun; if it happens again, give the workers more memory or use fewer, larger machines."
            ) from None
