"""Profile attributes passed through as model features, dtypes preserved, plus account age."""

from __future__ import annotations

import numpy as np
import pandas as pd

from potential.features.timebase import day_of, to_days

EXCLUDED = {"account_id", "account_name", "name", "company", "company_name"}
MAX_LEVELS = 100


def category_levels(accounts: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Levels of the text columns usable as categories: few distinct values, repeated across accounts.

    High-cardinality text (names, free text, e-mail addresses) is not a usable feature and is left out.
    Decided on the whole accounts table, so every partition of it encodes a column the same way.
    """
    levels: dict[str, tuple[str, ...]] = {}
    for column in accounts.columns:
        series = accounts[column]
        if column.lower() in EXCLUDED or _numeric_or_date(series):
            continue
        values = _text_levels(series)
        if 0 < len(values) <= MAX_LEVELS and len(values) < max(len(series) * 0.5, 2):
            levels[column] = tuple(sorted(values))
    return levels


def _numeric_or_date(series: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_numeric_dtype(series)


def profile_features(
    accounts: pd.DataFrame, as_of: pd.Timestamp, levels: dict[str, tuple[str, ...]] | None = None
) -> pd.DataFrame:
    """Numeric profile columns as float, low-cardinality text as category, dates as age in days."""
    levels = category_levels(accounts) if levels is None else levels
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
        elif column in levels:
            out[column] = _categorical(series, levels[column])
    return out


def _as_text(values: np.ndarray) -> np.ndarray:
    """Values as text: as they are when they are all text already (the usual profile column), else str()."""
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values
    return np.array([str(v) for v in values], dtype=object)  # 1 and 1.0 are equal, but not as text


def _text_levels(series: pd.Series) -> np.ndarray:
    """The distinct non-missing values of a column as text."""
    return pd.unique(_as_text(series.dropna().to_numpy(dtype=object)))


def _categorical(series: pd.Series, levels: tuple[str, ...]) -> pd.Categorical:
    """Each value as text on the given levels; missing values and values not among them are NaN."""
    present = series.notna().to_numpy()
    codes = np.full(len(series), -1, dtype=np.int64)
    rows, distinct = pd.factorize(_as_text(series[present].to_numpy(dtype=object)))
    if len(rows):  # looked up once per distinct value
        codes[present] = pd.Index(list(levels)).get_indexer(distinct)[rows]
    return pd.Categorical.from_codes(codes, categories=list(levels))


def existing_accounts(accounts: pd.DataFrame, as_of: pd.Timestamp) -> np.ndarray:
    """Boolean mask: the account existed before as_of (no created_date counts as existing)."""
    if "created_date" not in accounts.columns:
        return np.ones(len(accounts), dtype=bool)
    created = accounts["created_date"]
    return (created.isna() | (created < as_of)).to_numpy()
