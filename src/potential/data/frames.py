"""A `Dataset` from DataFrames in memory (a notebook's tables) under the same rules as a data folder.

Each frame goes through `clean_table`, the reader's own mapping, typing and validation (docs/design.md
section 1): the errors name the table, the column, example rows and the fix, exactly as for files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from potential.config import DataConfig
from potential.data.schema import TABLES, Dataset, assemble_dataset, clean_table
from potential.errors import InputError, echo


def frame_digest(frame: pd.DataFrame) -> str:
    """sha256 of a frame's column names and values (row order counts), like a file digest of its content."""
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, frame.columns)).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def dataset_from_frames(frames: Mapping[str, pd.DataFrame], config: DataConfig | None = None) -> Dataset:
    """Validate `{"transactions": df, "accounts": df, ...}` as `load_dataset` validates a folder.

    Keys are table names (accounts, transactions, activities, labels); `config.columns` maps your column names
    as it does for files. The frames are not modified. Raises InputError / ConfigError with a fix to apply.
    """
    config = config or DataConfig()
    unknown = sorted(set(frames) - set(TABLES))
    if unknown:
        raise InputError(
            f"unknown table name(s) {', '.join(repr(echo(u, 40)) for u in unknown)}; use the keys "
            f"{', '.join(TABLES)} (e.g. {{'transactions': df, 'accounts': df}})."
        )
    notes: list[str] = []
    tables: dict[str, pd.DataFrame] = {}
    digests: dict[str, str] = {}
    for table, frame in frames.items():
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"{table}: expected a pandas DataFrame, got {type(frame).__name__}.")
        digests[table] = frame_digest(frame)
        tables[table] = clean_table(frame.copy(deep=False), Path(table), table, config, notes)
    if "transactions" not in tables and not ("accounts" in tables and "labels" in tables):
        raise InputError(
            f"no transactions table (got: {', '.join(sorted(tables)) or 'nothing'}); pass "
            "{'transactions': df} (account_id, date, amount), or accounts + labels."
        )
    return assemble_dataset(tables, {t: t for t in tables}, notes, digests=digests)
