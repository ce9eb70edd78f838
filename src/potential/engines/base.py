"""The engine protocol: what every engine offers the stages (docs/design.md section 7)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import pandas as pd

from potential.labels.training_set import TrainingSet
from potential.models.training import Boosters
from potential.scoring.rating import RatingProfile

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TableSummary:
    """One input table as `validate` shows it."""

    table: str
    file: str
    rows: int
    columns: int
    unread: tuple[str, ...] = ()  # the file's columns potential does not read (`schema.unread_columns`)


@runtime_checkable
class InputData(Protocol):
    """What every engine's loaded data offers the stages, wherever its events live."""

    accounts: pd.DataFrame
    labels: pd.DataFrame | None

    @property
    def has_history(self) -> bool: ...

    @property
    def notes(self) -> tuple[str, ...]: ...

    @property
    def digests(self) -> dict[str, str]: ...

    @property
    def sources(self) -> Mapping[str, Path | str]: ...  # table -> its file (or folder) as read

    def first_date(self) -> pd.Timestamp | None: ...

    def last_date(self) -> pd.Timestamp | None: ...

    def digest(self) -> str: ...


@dataclass
class Scored:
    """An engine's scores: one row per account on the client; the long tables wherever the engine keeps them."""

    table: pd.DataFrame  # account_id, probabilities, money, rating, names, reasons
    notes: list[str]
    parts: Any  # engine-specific handle on explanations, rating and drivers (for write_report_inputs)
    # the feature table the scores came from, where the engine holds it in memory whole (pandas); None where
    # it does not (dask), and the pipeline builds it when it needs it
    features: pd.DataFrame | None = None


D = TypeVar("D", bound=InputData)


class Engine(Protocol[D]):
    """The operations whose cost grows with the events; every command reaches the data through these."""

    name: str

    def load(self, folder: Path) -> D:
        """Read and validate the tables in `folder` (exit-2 errors name file, column and rows)."""
        ...

    def tables(self, data: D) -> list[TableSummary]:
        """The tables that were found, for `validate`."""
        ...

    def truncated(self, data: D, as_of: pd.Timestamp) -> D:
        """The same data with every event on or after `as_of` removed (for the leakage audit)."""
        ...

    def features(self, data: D, as_of: pd.Timestamp) -> pd.DataFrame:
        """The scoring features at `as_of`, one row per account (index account_id), on the client."""
        ...

    def write_features(self, data: D, as_of: pd.Timestamp, out: Path) -> tuple[int, int]:
        """Write the scoring features at `as_of` to `out` (.parquet or .csv); (rows, feature columns)."""
        ...

    def training_set(
        self, data: D, as_of: pd.Timestamp, progress: Progress | None = None
    ) -> tuple[TrainingSet, Boosters | None]:
        """The point-in-time training set (its client-side slices) and the booster fitter for its train slice."""
        ...

    def score(
        self, data: D, as_of: pd.Timestamp, champions: dict[str, Any], profile: RatingProfile
    ) -> Scored:
        """Scores, explanations, rating and reasons of every account at `as_of`."""
        ...

    def outcomes(self, data: D, as_of: pd.Timestamp) -> pd.DataFrame:
        """What happened in [as_of, as_of + horizon) to each account active before `as_of` (the labels at
        `as_of` from the full data: churn, expansion, horizon and baseline spend, uplift; index account_id)."""
        ...

    def transactions_before(self, data: D, as_of: pd.Timestamp) -> pd.DataFrame:
        """account_id, date and amount of every transaction before `as_of`, on the client (BG/NBD's input)."""
        ...

    def write_report_inputs(
        self, scored: Scored, data: D, as_of: pd.Timestamp, keep: set[str], exports: Path
    ) -> list[Path]:
        """Explanations, rating, drivers and monthly history of the accounts in `keep`, as Parquet in `exports`."""
        ...
