"""Table contracts (DESIGN section 1): read a data folder, map columns, coerce types, reject bad input clearly.

Validation happens here, once, at the boundary; the rest of the product trusts the frames it gets.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from potential.config import DataConfig
from potential.data.io import file_digest, find_table, table_parts
from potential.errors import ConfigError, InputError, table_error

ID = "account_id"


@dataclass(frozen=True)
class TableSpec:
    name: str
    required: tuple[str, ...]
    dates: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


TABLES: dict[str, TableSpec] = {
    "accounts": TableSpec(
        "accounts",
        required=(ID,),
        dates=("created_date",),
        numbers=("employees", "annual_revenue"),
        optional=("account_name", "industry", "region", "employees", "annual_revenue", "created_date"),
    ),
    "transactions": TableSpec(
        "transactions",
        required=(ID, "date", "amount"),
        dates=("date",),
        numbers=("amount", "quantity"),
        optional=("product", "quantity", "kind"),
    ),
    "activities": TableSpec(
        "activities",
        required=(ID, "date", "kind"),
        dates=("date",),
        optional=("contact_id", "contact_role", "seniority"),
    ),
    "labels": TableSpec(
        "labels", required=(ID,), dates=("as_of",), optional=("churned", "expanded", "as_of")
    ),
}
LABEL_COLUMNS = ("churned", "expanded")
TRUE_WORDS = {"1", "1.0", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "0.0", "false", "no", "n", "f"}
MAX_CATEGORY_LEVELS = 200
EARLIEST_DATE, LATEST_DATE = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01")


@dataclass(frozen=True)
class Dataset:
    """The validated input: typed frames (never the user's files), where they came from, and what we noticed."""

    accounts: pd.DataFrame
    transactions: pd.DataFrame | None
    activities: pd.DataFrame | None
    labels: pd.DataFrame | None
    sources: dict[str, Path] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def has_history(self) -> bool:
        return self.transactions is not None

    def digest(self) -> str:
        joined = "|".join(f"{k}={v}" for k, v in sorted(self.digests.items()))
        return hashlib.sha256(joined.encode()).hexdigest()[:16]

    def first_date(self) -> pd.Timestamp | None:
        return self.transactions["date"].min() if self.has_history else None

    def last_date(self) -> pd.Timestamp | None:
        return self.transactions["date"].max() if self.has_history else None

    def before(self, as_of: pd.Timestamp) -> Dataset:
        """The same dataset with every event on or after `as_of` removed (what was known at `as_of`)."""

        def cut(frame: pd.DataFrame | None) -> pd.DataFrame | None:
            return None if frame is None else frame[frame["date"] < as_of].reset_index(drop=True)

        return replace(self, transactions=cut(self.transactions), activities=cut(self.activities))


def _sniff(path: Path) -> None:
    """Reject files that are empty or not text tables before pandas produces a cryptic error."""
    size = path.stat().st_size
    if size == 0:
        raise InputError(
            f"{path.name}: the file is empty; export the table again with a header row and data."
        )
    if path.suffix == ".parquet":
        with open(path, "rb") as handle:
            if handle.read(4) != b"PAR1":
                raise InputError(
                    f"{path.name}: not a Parquet file (bad magic bytes); re-export it or save it as CSV."
                )
        return
    if path.suffix == ".gz":
        return
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if b"\x00" in head:
        raise InputError(
            f"{path.name}: looks like a binary file, not CSV text; export the table as UTF-8 CSV (or Parquet)."
        )
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a cut multi-byte character at the end is fine
            try:
                head.decode("cp1252")
            except UnicodeDecodeError:
                raise InputError(
                    f"{path.name}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV."
                ) from exc


def read_raw(path: Path) -> pd.DataFrame:
    """Read a CSV/Parquet file (or a folder of part files) as it is: CSV cells as strings, typed later."""
    if path.is_dir():
        return pd.concat([read_raw(part) for part in table_parts(path)], ignore_index=True)
    _sniff(path)
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            sep = "\t" if path.suffix == ".tsv" else ","
            try:
                frame = pd.read_csv(
                    path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8-sig", sep=sep
                )
            except UnicodeDecodeError:
                frame = pd.read_csv(
                    path, dtype=str, keep_default_na=False, na_values=[], encoding="cp1252", sep=sep
                )
    except pd.errors.EmptyDataError as exc:
        raise InputError(
            f"{path.name}: the file has no header row; export the table with its column names."
        ) from exc
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise InputError(
            f"{path.name}: not a well-formed CSV ({detail}); check quoting and the delimiter (comma expected)."
        ) from exc
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{path.name}: cannot be read as a table ({exc}); export it as CSV or Parquet."
        ) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame) == 0:
        raise InputError(f"{path.name}: has a header but no rows; export the table with its data.")
    return frame


def _map_columns(frame: pd.DataFrame, spec: TableSpec, mapping: dict[str, str], path: Path) -> pd.DataFrame:
    """Rename the user's columns to ours and check the required ones are there."""
    known = set(spec.required) | set(spec.optional) | set(LABEL_COLUMNS if spec.name == "labels" else ())
    for ours, theirs in mapping.items():
        if spec.name != "accounts" and ours not in known:
            raise ConfigError(
                f"data.columns.{spec.name}: unknown column '{ours}'{_hint(ours, known)}; "
                f"map one of: {', '.join(sorted(known))}."
            )
        if theirs not in frame.columns:
            raise InputError(
                f"{path.name}: column '{theirs}' (mapped to '{ours}' in data.columns.{spec.name}) is not in the file"
                f"{_hint(theirs, frame.columns)}; columns found: {_list(frame.columns)}."
            )
    renamed = frame.rename(columns={theirs: ours for ours, theirs in mapping.items()})
    duplicated = renamed.columns[renamed.columns.duplicated()].tolist()
    if duplicated:
        raise InputError(
            f"{path.name}: column '{duplicated[0]}' appears twice (after mapping); rename or drop one of them."
        )
    for column in spec.required:
        if column not in renamed.columns:
            raise InputError(
                f"{path.name}: required column '{column}' is missing{_hint(column, renamed.columns)}; "
                f"columns found: {_list(renamed.columns)}; rename it in the file or map it with "
                f"data.columns.{spec.name}.{column} in the config."
            )
    return renamed


def _hint(name: str, options) -> str:
    close = difflib.get_close_matches(str(name), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _list(columns) -> str:
    cols = [str(c) for c in columns]
    return ", ".join(cols[:12]) + (f", ... ({len(cols)} in all)" if len(cols) > 12 else "")


def _blank(series: pd.Series) -> np.ndarray:
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        return (series.isna() | (series.astype(str).str.strip() == "")).to_numpy()
    return series.isna().to_numpy()


def parse_dates(
    series: pd.Series, fmt: str | None, path: Path, column: str, table: str, required: bool
) -> pd.Series:
    """Timestamps (timezone-aware ones converted to UTC, then made naive); bad values are an error."""
    if pd.api.types.is_datetime64_any_dtype(series):
        parsed = series
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        bad = np.zeros(len(series), dtype=bool)
        blank = parsed.isna().to_numpy()
    else:
        text = series.astype("string").str.strip()
        blank = _blank(text)
        if fmt:
            parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
        else:
            parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
            retry = parsed.isna().to_numpy() & ~blank
            if retry.any():
                again = pd.to_datetime(text[retry], format="mixed", errors="coerce", utc=True, dayfirst=False)
                parsed = parsed.copy()
                parsed[retry] = again
        parsed = parsed.dt.tz_localize(None)
        bad = parsed.isna().to_numpy() & ~blank
    # a year like 0001 parses but means a broken export, and cannot be held at nanosecond precision
    bad = bad | ((parsed < EARLIEST_DATE) | (parsed > LATEST_DATE)).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        rows = np.flatnonzero(bad)
        hint = (
            f"expected format '{fmt}'" if fmt else "expected ISO dates like 2024-03-31"
        ) + " between 1900 and 2200"
        raise table_error(
            path,
            f"column '{column}' has {len(rows)} unparseable date(s)",
            f"{hint}; fix the values or set data.date_format in the config (e.g. '%Y%m%d').",
            rows,
            series.to_numpy()[rows],
        )
    if required and blank.any():
        rows = np.flatnonzero(blank)
        raise table_error(
            path, f"column '{column}' has {len(rows)} empty date(s)", "every row needs a date.", rows
        )
    out = parsed.astype("datetime64[ns]")
    out.index = series.index
    return out


def parse_numbers(series: pd.Series, path: Path, column: str, table: str, required: bool) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.astype(float)
        blank = values.isna().to_numpy()
        bad = np.zeros(len(series), dtype=bool)
    else:
        text = series.astype("string").str.strip()
        blank = _blank(text)
        values = pd.to_numeric(text.str.replace(",", "", regex=False).where(~blank), errors="coerce")
        bad = values.isna().to_numpy() & ~blank
    inf = np.isinf(values.to_numpy(dtype=float, na_value=np.nan))
    bad = bad | inf
    if bad.any():
        rows = np.flatnonzero(bad)
        raise table_error(
            path,
            f"column '{column}' has {len(rows)} non-numeric value(s)",
            f"fix the file or map another column with data.columns.{table}.{column} in the config.",
            rows,
            series.to_numpy()[rows],
        )
    if required and blank.any():
        rows = np.flatnonzero(blank)
        raise table_error(
            path, f"column '{column}' has {len(rows)} empty value(s)", "every row needs a number here.", rows
        )
    return values.astype(float)


def _clean_ids(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    ids = frame[ID]
    if pd.api.types.is_float_dtype(ids):
        ids = ids.map(lambda v: "" if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v)))
    ids = ids.astype("string").str.strip()
    blank = _blank(ids)
    if blank.any():
        rows = np.flatnonzero(blank)
        raise table_error(
            path, f"column '{ID}' has {len(rows)} empty id(s)", "every row needs an account id.", rows
        )
    frame = frame.copy()
    frame[ID] = ids.astype(object).astype(str)
    return frame


def _profile_columns(frame: pd.DataFrame, path: Path, notes: list[str]) -> pd.DataFrame:
    """Infer the type of free profile columns: numbers stay numbers (blanks = missing), text becomes category."""
    out = frame.copy()
    for column in out.columns:
        if column == ID or pd.api.types.is_datetime64_any_dtype(out[column]):
            continue
        series = out[column]
        if pd.api.types.is_bool_dtype(series):
            out[column] = series.map({True: "yes", False: "no"}).astype("category")
            continue
        if pd.api.types.is_numeric_dtype(series):
            out[column] = series.astype(float)
            continue
        text = series.astype("string").str.strip()
        blank = _blank(text)
        if blank.all():
            out[column] = np.nan
            notes.append(f"{path.name}: column '{column}' is empty in every row; it is ignored.")
            continue
        numbers = pd.to_numeric(text.where(~blank), errors="coerce")
        numeric_share = (numbers.notna() & ~blank).sum() / max((~blank).sum(), 1)
        if numeric_share == 1.0:
            out[column] = numbers.astype(float)
            if blank.any():
                notes.append(
                    f"{path.name}: column '{column}' is numeric with {int(blank.sum())} blank value(s); "
                    "they count as missing."
                )
        else:
            if numeric_share > 0.9:
                bad = np.flatnonzero(numbers.isna().to_numpy() & ~blank)
                examples = ", ".join(repr(v) for v in text.to_numpy()[bad[:3]])
                notes.append(
                    f"{path.name}: column '{column}' is mostly numeric but has {len(bad)} text value(s) "
                    f"(e.g. {examples}); it is treated as text."
                )
            out[column] = text.where(~blank).astype(object)
    return out


def _labels(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    present = [c for c in LABEL_COLUMNS if c in frame.columns]
    if not present:
        raise InputError(
            f"{path.name}: needs a 'churned' and/or 'expanded' column with 0/1 values; "
            f"columns found: {_list(frame.columns)}; rename one or map it with data.columns.labels.churned."
        )
    out = frame[[ID, *present, *(["as_of"] if "as_of" in frame.columns else [])]].copy()
    for column in present:
        raw = frame[column]
        text = raw.astype("string").str.strip().str.lower()
        blank = _blank(text)
        is_true = text.isin(TRUE_WORDS).fillna(False).to_numpy()
        is_false = text.isin(FALSE_WORDS).fillna(False).to_numpy()
        bad = ~(is_true | is_false | blank)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise table_error(
                path,
                f"column '{column}' has {len(rows)} invalid label value(s)",
                "labels must be 0/1 (or yes/no, true/false); leave unknown outcomes blank.",
                rows,
                raw.to_numpy()[rows],
            )
        values = np.where(is_true, 1.0, np.where(is_false, 0.0, np.nan))
        out[column] = values
    return out


def _duplicates(frame: pd.DataFrame, path: Path, policy: str, notes: list[str]) -> pd.DataFrame:
    dup = frame.duplicated()
    count = int(dup.sum())
    if count:
        if policy == "drop":
            notes.append(f"{path.name}: dropped {count} exact duplicate row(s) (data.duplicate_rows: drop).")
            return frame.loc[~dup].reset_index(drop=True)
        notes.append(
            f"{path.name}: kept {count} exact duplicate row(s); set data.duplicate_rows: drop to remove them."
        )
    return frame


def read_table(path: Path, table: str, config: DataConfig, notes: list[str]) -> pd.DataFrame:
    """Read one table file and return it typed and validated (a new frame)."""
    return clean_table(read_raw(path), path, table, config, notes)


def clean_table(
    raw: pd.DataFrame, path: Path, table: str, config: DataConfig, notes: list[str]
) -> pd.DataFrame:
    """Map, type and validate a table as read (the whole file, or one partition of a partitioned one)."""
    spec = TABLES[table]
    frame = _map_columns(raw, spec, dict(config.columns.get(table, {})), path)
    frame = _clean_ids(frame, path)
    for column in spec.dates:
        if column in frame.columns:
            frame[column] = parse_dates(
                frame[column], config.date_format, path, column, table, required=column in spec.required
            )
    for column in spec.numbers:
        if column in frame.columns:
            frame[column] = parse_numbers(
                frame[column], path, column, table, required=column in spec.required
            )
    if table == "accounts":
        dup = frame[ID].duplicated(keep=False)
        if dup.any():
            rows = np.flatnonzero(dup.to_numpy())
            raise table_error(
                path,
                f"account id '{frame[ID].iloc[rows[0]]}' appears {int((frame[ID] == frame[ID].iloc[rows[0]]).sum())} "
                f"times ({int(frame[ID].duplicated().sum())} duplicate id(s) in all)",
                "keep one row per account.",
                rows,
            )
        frame = _profile_columns(frame, path, notes)
    elif table == "labels":
        frame = _labels(frame, path)
        if frame[ID].duplicated().any() and "as_of" not in frame.columns:
            rows = np.flatnonzero(frame[ID].duplicated(keep=False).to_numpy())
            raise table_error(
                path,
                "an account has more than one label row",
                "keep one row per account (or add an as_of column).",
                rows,
            )
    else:
        for column in spec.optional:
            if column in frame.columns and column not in spec.numbers and column not in spec.dates:
                frame[column] = (
                    frame[column].astype("string").str.strip().fillna("").astype(object).astype(str)
                )
        frame = _duplicates(frame, path, config.duplicate_rows, notes)
        frame = frame.sort_values(["date", ID], kind="mergesort").reset_index(drop=True)
    return frame


def load_dataset(folder: Path | str, config: DataConfig) -> Dataset:
    """Read and validate every table in `folder`. Raises InputError / ConfigError with a fix to apply."""
    folder = Path(folder)
    if not folder.exists():
        raise InputError(
            f"{folder}: data folder not found; pass --data with the folder holding transactions.csv."
        )
    if not folder.is_dir():
        raise InputError(
            f"{folder}: is a file, not a folder; pass --data with the folder that holds the tables."
        )
    notes: list[str] = []
    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, Path] = {}
    digests: dict[str, str] = {}
    for table in TABLES:
        stem = config.tables.get(table, table)
        path = find_table(folder, stem)
        if path is None:
            continue
        sources[table] = path
        digests[table] = file_digest(path)
        frames[table] = read_table(path, table, config, notes)
    if "transactions" not in frames and not ("accounts" in frames and "labels" in frames):
        found = ", ".join(p.name for p in sorted(folder.iterdir()) if p.is_file()) or "no files"
        raise InputError(
            f"{folder}: no transactions table (found: {found}); provide transactions.csv "
            "(account_id, date, amount), or accounts.csv + labels.csv, or map file names with data.tables."
        )
    transactions = frames.get("transactions")
    accounts = frames.get("accounts")
    if accounts is None:
        ids = pd.unique(transactions[ID]) if transactions is not None else pd.unique(frames["labels"][ID])
        accounts = pd.DataFrame({ID: np.sort(ids.astype(str))})
    else:
        known = set(accounts[ID])
        extra_ids: set[str] = set()
        for table in ("transactions", "activities", "labels"):
            if table in frames:
                missing = set(frames[table][ID]) - known
                if missing:
                    notes.append(
                        f"{sources[table].name}: {len(missing)} account id(s) not in accounts "
                        f"(e.g. {', '.join(sorted(missing)[:3])}); kept with an empty profile."
                    )
                    extra_ids |= missing
        if extra_ids:
            accounts = pd.concat([accounts, pd.DataFrame({ID: sorted(extra_ids)})], ignore_index=True)
    accounts = accounts.sort_values(ID, kind="mergesort").reset_index(drop=True)
    if transactions is not None:
        no_tx = len(set(accounts[ID]) - set(transactions[ID]))
        if no_tx:
            notes.append(f"{no_tx} account(s) have no transactions; they are scored as prospects.")
    return Dataset(
        accounts=accounts,
        transactions=transactions,
        activities=frames.get("activities"),
        labels=frames.get("labels"),
        sources=sources,
        digests=digests,
        notes=tuple(notes),
    )
