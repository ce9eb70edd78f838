"""Profile attributes passed through as model features, dtypes preserved, plus account age and budget season.

Budget season: when the accounts table says when each account's fiscal year starts (`fiscal_year_start`) or
ends (`fiscal_year_end`), as a month number 1-12 or a month name ("April", "apr"), the feature
`months_into_fiscal_year` is the number of whole months from that start to the as-of month (0 = the first
month of the account's budget year). New budgets open at the start of a fiscal year, so the same calendar
month is early in one customer's budget year and late in another's; `month_of_year` alone cannot tell them
apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from potential.features.timebase import day_of, to_days

EXCLUDED = {"account_id", "account_name", "name", "company", "company_name"}
MAX_LEVELS = 100
FISCAL_COLUMNS = {"fiscal_year_start": 0, "fiscal_year_end": 1}  # column -> months from it to the next start
MONTH_NAMES = {
    name: i + 1
    for i, names in enumerate(
        zip(
            (
                "january",
                "february",
                "march",
                "april",
                "may",
                "june",
                "july",
                "august",
                "september",
                "october",
                "november",
                "december",
            ),
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
            strict=True,
        )
    )
    for name in names
}


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


def unused_text_notes(accounts: pd.DataFrame, name: str) -> list[str]:
    """A note for each text column of the accounts table that no model can use: too many different values
    to be a category (`category_levels`), like a surname or a free-text comment. Names the columns expected
    to be such (account_name, ...) do not get one."""
    levels = category_levels(accounts)
    notes = []
    for column in accounts.columns:
        if column in levels or column.lower() in EXCLUDED or _numeric_or_date(accounts[column]):
            continue
        count = len(_text_levels(accounts[column]))
        if count:
            notes.append(
                f"{name}: column '{column}' is text with {count:,} different values in {len(accounts):,} "
                f"rows, too many to be a category (at most {MAX_LEVELS}, and fewer than half the rows), so no "
                "model uses it."
            )
    return notes


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
    for column, shift in FISCAL_COLUMNS.items():
        if column in accounts.columns and "months_into_fiscal_year" not in out.columns:
            start = (fiscal_month(accounts[column]) - 1 + shift) % 12  # 0 = January, NaN unknown
            out["months_into_fiscal_year"] = (pd.Timestamp(as_of).month - 1 - start) % 12
    return out


def fiscal_month(series: pd.Series) -> np.ndarray:
    """A month column as numbers 1-12: numbers as they are, month names and abbreviations by name (any case);
    anything else (blank, 13, "Q2") is NaN."""
    if pd.api.types.is_numeric_dtype(series):
        month = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    else:
        text = series.astype("string").str.strip().str.lower()
        named = text.map(MONTH_NAMES, na_action="ignore")
        month = pd.to_numeric(named.fillna(pd.to_numeric(text, errors="coerce")), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
    return np.where((month >= 1) & (month <= 12) & (month == np.floor(month)), month, np.nan)


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
