"""What a command asks of the pipeline, and what each stage gives back: plain, typed records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from potential.models.training import TargetResult


@dataclass(frozen=True)
class FeaturesRequest:
    """`potential features`: the scoring features at `as_of`, written to `out` (.parquet or .csv)."""

    data: Path
    as_of: pd.Timestamp
    out: Path


@dataclass(frozen=True)
class TrainRequest:
    """`potential train`: models for `as_of` from the data in `data`, logged in `workspace`'s registry.

    `truth` (a synthetic portfolio's events, or its truth table) adds a check of the test slice against the
    generator's true events to the training summary.
    """

    data: Path
    as_of: pd.Timestamp
    workspace: Path
    truth: pd.DataFrame | None = None


@dataclass(frozen=True)
class RankRequest:
    """`potential rank`: the ranked list at `as_of` from the champions in `workspace`, exported as `fmt`.

    `top`, `tiers` and `actions` filter the exported rows; `since` is an earlier targets file to compare with.
    """

    data: Path
    as_of: pd.Timestamp
    workspace: Path
    fmt: str = "csv"
    top: int | None = None
    tiers: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    since: Path | None = None


@dataclass(frozen=True)
class ReportRequest:
    """`potential report`: the HTML pages of the list that `rank` last wrote in `workspace`."""

    workspace: Path
    top_k: int | None = None


@dataclass
class TrainSummary:
    results: dict[str, TargetResult]
    decisions: dict[str, dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    oracle: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    seconds: float = 0.0


@dataclass
class RankSummary:
    targets: pd.DataFrame
    paths: list[Path]
    notes: list[str]
    model_versions: dict[str, str]


@dataclass(frozen=True)
class BacktestRequest:
    """`potential backtest`: rank as of each date in `as_ofs` from the events before it, then score the list
    against what happened in the next horizon (and, on generated data, against the generator's true events).

    `top_k` sizes the "top K" group beside tier A.
    """

    data: Path
    as_ofs: tuple[pd.Timestamp, ...]
    workspace: Path
    top_k: int = 100


@dataclass
class BacktestSummary:
    table: pd.DataFrame  # one row per as-of, outcome and method (scoring.backtest.METRIC_COLUMNS)
    comparison: pd.DataFrame  # per as-of and outcome: potential vs the best baseline
    paths: list[Path]
    notes: list[str]
