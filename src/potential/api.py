"""Python entry points for notebooks and scripts: the same stages as the CLI, one call each.

    import potential.api as potential
    config = potential.load_config("configs/default.yaml")
    summary = potential.train("data/raw", "2026-08-01", "workspace", config)
    ranked = potential.rank("data/raw", "2026-08-01", "workspace", config)
    ranked.targets.head()

Each call opens the engine the config names (pandas by default) for its own duration.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from potential.app.pipeline import Pipeline, parse_as_of
from potential.app.requests import RankRequest, RankSummary, TrainRequest, TrainSummary
from potential.config import Config, load_config
from potential.engines import InputData, open_engine

__all__ = ["load_config", "load_dataset", "train", "rank", "Config"]


def load_dataset(data: Path | str, config: Config | None = None) -> InputData:
    """Read and validate the tables in the folder `data` (raises InputError naming file, column and rows)."""
    config = config or Config()
    with open_engine(config) as engine:
        return engine.load(Path(data))


def train(
    data: Path | str,
    as_of: str | pd.Timestamp,
    workspace: Path | str,
    config: Config | None = None,
    truth: pd.DataFrame | None = None,
) -> TrainSummary:
    """Train and register the churn and expansion models for `as_of` in `workspace` (as `potential train`)."""
    config = config or Config()
    request = TrainRequest(Path(data), parse_as_of(as_of), Path(workspace), truth)
    with open_engine(config) as engine:
        return Pipeline(engine, config).train(request)


def rank(
    data: Path | str,
    as_of: str | pd.Timestamp,
    workspace: Path | str,
    config: Config | None = None,
    **options,
) -> RankSummary:
    """Rank every account at `as_of` with the champions in `workspace` (as `potential rank`).

    `options` are those of `RankRequest`: fmt, top, tiers, actions, since.
    """
    config = config or Config()
    request = RankRequest(Path(data), parse_as_of(as_of), Path(workspace), **options)
    with open_engine(config) as engine:
        return Pipeline(engine, config).rank(request)
