"""Profile attributes passed through as model features, dtypes preserved, plus account age."""

from __future__ import annotations

import numpy as np
import pandas as pd

from potential.features.timebase import day_of, to_days

EXCLUDED = {"account_id", "account_name", "name", "company", "company_name"}
MAX_LEVELS = 100


def profile_features(accounts: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Numeric profile columns as float, low-cardinality text as category, dates as age in days.

    High-cardinality text (names, free text, e-mail addresses) is not a usable feature and is left out.
    """
    out = pd.DataFrame(index=pd.Index(accounts["account_id"], name="account_id"))
    T = day_of(as_of)
    for column in accounts.columns:
        if column.lower() in EXCLUDED:
            continue
        series = accounts[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            age = T - to_days(series)
            name = "account_age_days" if column == "created_date" else f"{column}_age_days"
            out[name] = np.where(age > 0, age, np.nan)
        elif pd.api.types.is_numeric_dtype(series):
            out[column] = series.to_numpy(dtype=float)
        else:
            values = series.astype(object).where(series.notna(), None)
            levels = pd.Series(values).dropna().astype(str).unique()
            if 0 < len(levels) <= MAX_LEVELS and len(levels) < max(len(series) * 0.5, 2):
                out[column] = pd.Categorical(
                    [None if v is None else str(v) for v in values], categories=sorted(levels)
                )
    return out


def existing_accounts(accounts: pd.DataFrame, as_of: pd.Timestamp) -> np.ndarray:
    """Boolean mask: the account existed before as_of (no created_date counts as existing)."""
    if "created_date" not in accounts.columns:
        return np.ones(len(accounts), dtype=bool)
    created = accounts["created_date"]
    return (created.isna() | (created < as_of)).to_numpy()
