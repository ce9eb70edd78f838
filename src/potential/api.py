"""Python entry points for notebooks and scripts: the same stages as the CLI, one call each.

    import potential
    config = potential.load_config()                      # or load_config("configs/default.yaml")
    data = {"transactions": transactions_df, "accounts": accounts_df}   # or a folder: "data/raw"
    summary = potential.train(data, "2026-08-01", "workspace", config)
    ranked = potential.rank(data, "2026-08-01", "workspace", config)
    ranked.targets.head()
    potential.explain(data, "2026-08-01", "workspace").head()

`data` is a folder of CSV/Parquet files or a dict of DataFrames keyed by table name (accounts, transactions,
activities, labels); both are validated by the same rules (docs/design.md section 1). Each call opens the
engine the config names (pandas by default; DataFrames always use pandas) for its own duration.
docs/python-api.md has a worked example.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from potential.app.pipeline import Pipeline, parse_as_of
from potential.app.requests import RankRequest, RankSummary, TrainRequest, TrainSummary
from potential.config import Config, load_config
from potential.data.frames import dataset_from_frames
from potential.data.schema import Dataset
from potential.engines import Engine, InputData, open_engine
from potential.engines.pandas_engine import PandasEngine
from potential.errors import InputError, PotentialError

__all__ = [
    "Config",
    "DataLike",
    "build_features",
    "explain",
    "load_config",
    "load_dataset",
    "model_versions",
    "rank",
    "train",
]

DataLike: TypeAlias = Path | str | Mapping[str, pd.DataFrame]
FRAMES = Path("<dataframes>")  # what requests and lineage name data handed in as DataFrames


class _FramesEngine(PandasEngine):
    """The pandas engine, reading one validated in-memory dataset instead of a folder."""

    def __init__(self, config: Config, dataset: Dataset):
        super().__init__(config)
        self.dataset = dataset

    def load(self, folder: Path) -> Dataset:
        return self.dataset


@contextmanager
def _engine(data: DataLike, config: Config) -> Iterator[tuple[Engine[Any], Path]]:
    """The engine for `data` and the folder to hand the stages (a placeholder for DataFrames)."""
    if isinstance(data, Mapping):
        if config.engine.kind != "pandas":
            raise InputError(
                f"DataFrames are read by the pandas engine, not {config.engine.kind}; write them to a folder "
                "and pass its path to use another engine."
            )
        yield _FramesEngine(config, dataset_from_frames(data, config.data)), FRAMES
        return
    if not isinstance(data, str | Path):
        raise InputError(
            f"data must be a folder path or a dict of DataFrames such as {{'transactions': df}}, not "
            f"{type(data).__name__}."
        )
    with open_engine(config) as engine:
        yield engine, Path(data)


def load_dataset(data: DataLike, config: Config | None = None) -> InputData:
    """Read and validate the input tables.

    Args:
        data: a folder of CSV/Parquet files, or `{"transactions": df, "accounts": df, ...}`.
        config: the config (default: built-in defaults); `config.data` maps column names and formats.

    Returns:
        The validated dataset: typed frames (`.accounts`, `.transactions`, ...), `.digests` and `.notes`.
        The events' account ids and text columns (kind, product, order_id, contact_id, contact_role,
        seniority) are pandas categoricals: add a category (`.cat.add_categories`) before writing a new
        value into one.

    Raises:
        InputError: naming the table, the column, example rows and the fix.
    """
    config = config or Config()
    with _engine(data, config) as (engine, folder):
        return engine.load(folder)


def build_features(data: DataLike, as_of: str | pd.Timestamp, config: Config | None = None) -> pd.DataFrame:
    """The scoring features at `as_of`: one row per account, an `account_id` column first — the table that
    `potential features` writes and the registered MLflow models take as input.

    Only events before `as_of` are used (an event on the as-of belongs to the future).
    """
    config = config or Config()
    when = parse_as_of(as_of)
    with _engine(data, config) as (engine, folder):
        features = engine.features(engine.load(folder), when)
    return features.reset_index()


def train(
    data: DataLike,
    as_of: str | pd.Timestamp,
    workspace: Path | str,
    config: Config | None = None,
    truth: pd.DataFrame | None = None,
) -> TrainSummary:
    """Train, log and register the churn and expansion models for `as_of` in `workspace` (as `potential train`).

    Args:
        data: a folder or a dict of DataFrames (see `load_dataset`).
        as_of: the date the models are for; labels end on or before it.
        workspace: folder holding `models/mlflow.db` (created if missing) unless `config.tracking.uri` is set.
        config: the config (default: built-in defaults).
        truth: the synthetic portfolio's latent propensities, for the oracle check (optional).

    Returns:
        `TrainSummary`: per-target results (`.results[target].metrics`), gate `.decisions`, `.notes`.
    """
    config = config or Config()
    when = parse_as_of(as_of)
    with _engine(data, config) as (engine, folder):
        return Pipeline(engine, config).train(TrainRequest(folder, when, Path(workspace), truth))


def rank(
    data: DataLike,
    as_of: str | pd.Timestamp,
    workspace: Path | str,
    config: Config | None = None,
    **options: Any,
) -> RankSummary:
    """Rank every account at `as_of` with the champions in `workspace` (as `potential rank`).

    Writes the target list and report inputs to `workspace/exports` and logs an inference run in MLflow.
    `options` are those of `RankRequest`: fmt ("csv", "xlsx", "parquet"), top, tiers, actions, since.

    Returns:
        `RankSummary`: `.targets` (the ranked DataFrame), `.paths`, `.notes`, `.model_versions`.
    """
    config = config or Config()
    when = parse_as_of(as_of)
    with _engine(data, config) as (engine, folder):
        request = RankRequest(folder, when, Path(workspace), **options)
        return Pipeline(engine, config).rank(request)


def explain(
    data: DataLike,
    as_of: str | pd.Timestamp,
    workspace: Path | str,
    config: Config | None = None,
) -> pd.DataFrame:
    """Per-account contributions of every feature to the champions' probabilities at `as_of`.

    Long format, as `exports/explanations.parquet`: account_id, target, feature, value, value_text,
    contribution, base — `base + sum(contribution)` is the account's calibrated probability (LightGBM's exact
    TreeSHAP values rescaled to probability points). Prospects are included (`rank` leaves them out).
    """
    from potential.models.training import TARGETS
    from potential.scoring.explain import contributions, long_explanations

    config = config or Config()
    when = parse_as_of(as_of)
    champions = _tracker(workspace, config).champions()
    if not any(t in champions for t in TARGETS):
        raise PotentialError(
            f"{workspace}: no champion model; train first (potential.train or `potential train`)."
        )
    with _engine(data, config) as (engine, folder):
        features = engine.features(engine.load(folder), when)
    parts = []
    for target in TARGETS:
        if target in champions:
            points, _, base = contributions(champions[target].model, features)
            parts.append(long_explanations(target, points, features, base))
    return pd.concat(parts, ignore_index=True)


def model_versions(workspace: Path | str, config: Config | None = None) -> pd.DataFrame:
    """The registered model versions (as `potential models`): aliases, as-of, test-slice metrics, format."""
    return _tracker(workspace, config or Config()).models()


def _tracker(workspace: Path | str, config: Config):
    from potential.tracking.store import Tracker

    store = Path(workspace) / "models" / "mlflow.db"
    if not config.tracking.uri and not store.exists():
        raise PotentialError(
            f"{store}: no tracking store; train first (potential.train or `potential train`)."
        )
    return Tracker(Path(workspace), config)
