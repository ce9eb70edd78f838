"""Execution engines. `pandas` runs in this process; `dask` needs the optional dask extra."""

from __future__ import annotations

from potential.errors import PotentialError


def require_dask(scheduler: str | None = None) -> None:
    """Fail clearly when the dask engine is asked for but cannot run here."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise PotentialError(
            "the dask engine needs the dask extra: pip install 'potential[dask]' (or use --engine pandas)."
        ) from exc
    raise PotentialError(
        "--engine dask is not available in this version yet; use --engine pandas (the default)."
    )
