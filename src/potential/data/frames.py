"""A `Dataset` from DataFrames in memory (a notebook's tables) under the same rules as a data folder.

Each frame goes through `clean_table`, the reader's own mapping, typing and validation (docs/design.md
section 1): the errors name the table, the column, example rows and the fix, exactly as for files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from potential.config import DataConfig
from potential.data.schema import ID, TABLES, Dataset, check_purchases, clean_table
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
    transactions = tables.get("transactions")
    if transactions is not None:
        check_purchases(transactions, Path("transactions"))
    accounts = tables.get("accounts")
    if accounts is None:
        source = transactions if transactions is not None else tables["labels"]
        accounts = pd.DataFrame({ID: np.sort(pd.unique(source[ID]).astype(str))})
    else:
        known = set(accounts[ID])
        extra: set[str] = set()
        for table in ("transactions", "activities", "labels"):
            if table in tables:
                missing = set(tables[table][ID]) - known
                if missing:
                    notes.append(
                        f"{table}: {len(missing)} account id(s) not in accounts "
                        f"(e.g. {', '.join(echo(m, 40) for m in sorted(missing)[:3])}); kept with an empty profile."
                    )
                    extra |= missing
        if extra:
            accounts = pd.concat([accounts, pd.DataFrame({ID: sorted(extra)})], ignore_index=True)
    accounts = accounts.sort_values(ID, kind="mergesort").reset_index(drop=True)
    if transactions is not None:
        no_tx = len(set(accounts[ID]) - set(transactions[ID]))
        if no_tx:
            notes.append(f"{no_tx} account(s) have no transactions; they are scored as prospects.")
    return Dataset(
        accounts=accounts,
        transactions=transactions,
        activities=tables.get("activities"),
        labels=tables.get("labels"),
        sources={},
        digests=digests,
        notes=tuple(notes),
    )
