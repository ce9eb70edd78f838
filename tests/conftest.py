"""Shared fixtures: small hand-built tables written to a temp folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def make_tables(
    n_accounts: int = 120, days: int = 900, seed: int = 0, start: str = "2023-01-01"
) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"C{i:04d}" for i in range(n_accounts)]
    start_ts = pd.Timestamp(start)
    rows = []
    for i, account in enumerate(ids):
        k = int(rng.integers(3, 40))
        offsets = np.sort(rng.integers(0, days - (i % 5) * 60, k))
        for off in offsets:
            rows.append(
                (
                    account,
                    (start_ts + pd.Timedelta(days=int(off))).date().isoformat(),
                    round(float(rng.lognormal(6, 1)), 2),
                    f"P{int(rng.integers(0, 5))}",
                )
            )
    transactions = pd.DataFrame(rows, columns=["account_id", "date", "amount", "product"])
    accounts = pd.DataFrame(
        {
            "account_id": ids,
            "account_name": [f"Company {i}" for i in range(n_accounts)],
            "industry": rng.choice(["retail", "energy", "software"], n_accounts),
            "employees": rng.integers(5, 5000, n_accounts),
            "culture_fit": rng.choice(["good", "fair", "poor"], n_accounts),
        }
    )
    n_act = n_accounts * 20
    activities = pd.DataFrame(
        {
            "account_id": rng.choice(ids, n_act),
            "date": (start_ts + pd.to_timedelta(rng.integers(0, days, n_act), unit="D")).strftime("%Y-%m-%d"),
            "kind": rng.choice(["meeting", "email", "exec_meeting", "support_ticket"], n_act),
            "contact_id": rng.choice(["a", "b", "c", "d"], n_act),
        }
    )
    return {"transactions": transactions, "accounts": accounts, "activities": activities}


def write_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return make_tables()


@pytest.fixture
def data_dir(tmp_path: Path, tables) -> Path:
    return write_tables(tmp_path / "data", tables)
