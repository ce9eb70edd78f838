"""The pandas engine: every step in this process, on frames in memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from potential import interrupt
from potential.config import Config
from potential.data.io import write_table
from potential.data.schema import Dataset, load_dataset, unread_columns
from potential.engines.base import Progress, Scored, TableSummary
from potential.features.build import build_features, prepare
from potential.labels.training_set import TrainingSet, build_training_set, data_end, labels_at
from potential.models.training import Boosters
from potential.scoring.accounts import AccountScores, monthly_history, score_accounts
from potential.scoring.rating import RatingProfile


class PandasEngine:
    """Runs features, training sets and scoring in this process (the default engine)."""

    name = "pandas"

    def __init__(self, config: Config):
        self.config = config

    def load(self, folder: Path) -> Dataset:
        return load_dataset(Path(folder), self.config.data)

    def tables(self, data: Dataset) -> list[TableSummary]:
        return [
            TableSummary(
                name,
                path.name,
                len(frame := getattr(data, name)),
                frame.shape[1],
                unread_columns(name, list(frame.columns)),
            )
            for name, path in data.sources.items()
        ]

    def truncated(self, data: Dataset, as_of: pd.Timestamp) -> Dataset:
        return data.before(as_of)

    def features(self, data: Dataset, as_of: pd.Timestamp) -> pd.DataFrame:
        return build_features(data, as_of, self.config.features)

    def write_features(self, data: Dataset, as_of: pd.Timestamp, out: Path) -> tuple[int, int]:
        table = self.features(data, as_of)
        interrupt.check()
        write_table(table.reset_index(), out)
        return len(table), table.shape[1]

    def training_set(
        self, data: Dataset, as_of: pd.Timestamp, progress: Progress | None = None
    ) -> tuple[TrainingSet, Boosters | None]:
        return build_training_set(data, as_of, self.config, progress=progress), None

    def score(
        self, data: Dataset, as_of: pd.Timestamp, champions: dict[str, Any], profile: RatingProfile
    ) -> Scored:
        feats = self.features(data, as_of)
        scored = score_accounts(data, feats, as_of, champions, self.config, profile)
        return Scored(scored.table, scored.notes, scored, features=feats)

    def outcomes(self, data: Dataset, as_of: pd.Timestamp) -> pd.DataFrame:
        last = data.last_date()
        end = data_end(last) if last is not None else None
        return labels_at(prepare(data, as_of, self.config.features), as_of, self.config, end=end)

    def transactions_before(self, data: Dataset, as_of: pd.Timestamp) -> pd.DataFrame:
        if data.transactions is None:
            return pd.DataFrame({"account_id": [], "date": pd.to_datetime([]), "amount": []})
        tx = data.transactions
        return tx.loc[tx["date"] < as_of, ["account_id", "date", "amount"]].reset_index(drop=True)

    def write_report_inputs(
        self, scored: Scored, data: Dataset, as_of: pd.Timestamp, keep: set[str], exports: Path
    ) -> list[Path]:
        parts: AccountScores = scored.parts
        paths = []
        # every scored account exported (the default): nothing to filter out of tables of accounts x features
        whole = keep.issuperset(scored.table["account_id"])
        for name, table in (
            ("explanations", parts.explanations),
            ("rating", parts.rating),
            ("drivers", parts.drivers),
        ):
            mine = (table if whole else table[table["account_id"].isin(keep)]).reset_index(drop=True)
            paths.append(write_table(mine, exports / f"{name}.parquet"))
        history = monthly_history(data, as_of, pd.Index(sorted(keep)))
        paths.append(write_table(history, exports / "history.parquet"))
        return paths
