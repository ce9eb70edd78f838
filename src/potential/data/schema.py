"""Table contracts (docs/design.md section 1): read a data folder, map columns, coerce types, reject bad input clearly.

Validation happens here, once, at the boundary; the rest of the product trusts the frames it gets.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from potential import interrupt
from potential.config import DataConfig, days_since
from potential.data.conventions import (
    DELIMITERS,
    MAX_ABS_NUMBER,
    WHITESPACE,
    codec_for,
    csv_delimiter,
    csv_header,
    date_order_note,
    decide_date_order,
    delimiter_name,
    delimiter_setting,
    encoding_error,
    first_line,
    is_data_cell,
    is_single_byte_compatible,
    iso_days,
    line_cells,
    parse_number_text,
    parse_numeric_dates,
    plan_decimals,
    positional_names,
    separator_evidence,
    to_numbers,
)
from potential.data.io import WORKBOOK_SUFFIX, file_digest, find_table, table_parts, table_stem
from potential.errors import (
    ConfigError,
    InputError,
    echo,
    example_rows,
    first_row_number,
    rows_numbered_from,
    table_error,
)

ID = "account_id"


@dataclass(frozen=True)
class TableSpec:
    name: str
    required: tuple[str, ...]
    dates: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column of ours the table reads: the required ones, then the optional ones."""
        return tuple(dict.fromkeys((*self.required, *self.optional)))


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
        required=(ID, "date", "amount"),  # amount: or quantity and unit_price (line-item exports)
        dates=("date",),
        numbers=("amount", "quantity", "unit_price"),
        optional=("product", "quantity", "unit_price", "order_id", "kind"),
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
ROW_ID_TABLES = ("accounts", "labels")  # the tables data.row_ids may number (one row per account)
TRUE_WORDS = {"1", "1.0", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "0.0", "false", "no", "n", "f"}
MAX_CATEGORY_LEVELS = 200
MAX_BLANK_ID_SHARE = 0.5  # above it, rows without an id are refused whatever data.blank_ids says
UNNAMED_ROWS = "without an account id"  # what the note on rows left out under data.blank_ids: drop says
# a line-item export has no amount: each line's amount is quantity x unit price (docs/data-conventions.md)
LINE_ITEM_COLUMNS = ("quantity", "unit_price")
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


def _sniff(path: Path, encoding: str = "auto") -> None:
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
    if path.suffix == WORKBOOK_SUFFIX:
        if head[:4] != b"PK\x03\x04":  # an .xlsx workbook is a zip archive
            raise InputError(
                f"{path.name}: not an Excel workbook (.xlsx); open it in Excel and save it as .xlsx or as CSV UTF-8."
            )
        return
    codec = codec_for(encoding)
    if encoding == "auto" and head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(
            f"{path.name}: is UTF-16 text (Excel 'Unicode Text'); save it as 'CSV UTF-8', "
            "or set data.encoding: utf-16 in the config."
        )
    if b"\x00" in head and is_single_byte_compatible(codec):
        raise InputError(
            f"{path.name}: looks like a binary file, not CSV text; export the table as UTF-8 CSV (or Parquet)."
        )


def read_raw(
    path: Path,
    encoding: str = "auto",
    nrows: int | None = None,
    delimiter: str = "auto",
    header: bool | str = "auto",
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """Read a CSV/Parquet file (or a folder of part files) or an Excel workbook as it is: CSV and workbook
    cells as strings, typed later (`_read_workbook` says which sheets are read, in `notes`).

    `nrows` reads only the first rows (of the first part): the sample a partitioned reader decides the
    table's conventions from (`plan_table`).

    CSV columns are split at `delimiter` (data.delimiter; 'auto' reads it from each file's first line,
    `csv_delimiter`). A file whose first line is data, not names (`header`: data.header, `csv_header`), has
    its columns named by position: column_1, column_2, ... CSV text is decoded with one codec for the whole
    file (`encoding`: 'auto' = UTF-8); a file that does not decode is refused at its first bad byte, never
    re-read in a guessed codec. Header names are kept as written, so a column named twice stays visible
    (pandas would rename the second 'amount.1').

    Whole UTF-8 files are parsed by Arrow's multithreaded CSV reader into Arrow-backed string columns (five
    times faster than pandas' C parser, and the columns stay columnar for the typing that follows); any file
    Arrow refuses is read again by pandas, whose errors are the ones reported.
    """
    if path.is_dir():
        parts = table_parts(path)
        if nrows is not None:
            return read_raw(parts[0], encoding, nrows, delimiter, header)
        return pd.concat(
            [read_raw(part, encoding, delimiter=delimiter, header=header) for part in parts],
            ignore_index=True,
        )
    _sniff(path, encoding)
    if path.suffix == WORKBOOK_SUFFIX:
        return _read_workbook(path, nrows, header is not False, [] if notes is None else notes)
    codec = codec_for(encoding)
    sep, named = csv_layout(path, encoding, delimiter, header)
    frame = None
    if path.suffix != ".parquet" and nrows is None and codec == "utf-8-sig" and sep != WHITESPACE:
        frame = _read_csv_arrow(path, sep, named)
    if frame is None:
        frame = _read_pandas(path, encoding, codec, nrows, sep, named)
    if len(frame) == 0:
        raise InputError(f"{path.name}: has a header but no rows; export the table with its data.")
    return frame


def csv_layout(
    path: Path, encoding: str = "auto", delimiter: str = "auto", header: bool | str = "auto"
) -> tuple[str, bool]:
    """What separates a file's columns and whether its first line names them (a Parquet file: ',', yes; a
    workbook's first row names them unless data.header is false)."""
    if path.suffix == ".parquet":
        return ",", True
    if path.suffix == WORKBOOK_SUFFIX:
        return ",", header is not False
    line = first_line(path, encoding) if "auto" in (delimiter, header) else ""  # read once, when needed
    return _line_layout(line, path.suffix, delimiter, header)


def _line_layout(line: str, suffix: str, delimiter: str, header: bool | str) -> tuple[str, bool]:
    """`csv_layout` of a CSV file whose first line is `line`."""
    sep = csv_delimiter(line, suffix, delimiter)
    return sep, csv_header(line, sep, header, _is_our_name)


def _is_our_name(cell: str) -> bool:
    """True for one of our column names, however written ('Account ID' is account_id)."""
    return _plain(cell) in _OUR_NAMES


def first_data_row(path: Path, config: DataConfig) -> int:
    """The line of a table's file (its first part) holding its first row: 2 below a header, else 1."""
    first = table_parts(path)[0] if path.is_dir() else path
    return 2 if csv_layout(first, config.encoding, config.delimiter, config.header)[1] else 1


def _csv_options(codec: str, sep: str) -> dict:
    return dict(dtype=str, keep_default_na=False, na_values=[], encoding=codec, sep=sep)


def layout_notes(path: Path, config: DataConfig) -> list[str]:
    """The notes on how a table's file (its first part) was read that the config did not say: a delimiter
    read from its first line other than the comma (a .tsv file's tab goes without saying), and a first line
    of data, not names."""
    first = table_parts(path)[0] if path.is_dir() else path
    if first.suffix in (".parquet", WORKBOOK_SUFFIX) or not first.is_file():
        return []
    line = first_line(first, config.encoding)
    sep, named = _line_layout(line, first.suffix, config.delimiter, config.header)
    notes = []
    if config.delimiter == "auto" and first.suffix != ".tsv" and sep != ",":
        notes.append(
            f"{path.name}: columns separated by {delimiter_name(sep)} (read from its first line; "
            "data.delimiter sets it)."
        )
    if config.header == "auto" and not named:
        cells = line_cells(line, sep)
        notes.append(
            f"{path.name}: no header line (its first line is data: {echo(' '.join(cells), 60)}); the "
            f"columns are named {_positions(len(cells))} (data.header sets it)."
        )
    return notes


def _positions(count: int) -> str:
    names = positional_names(count)
    return ", ".join(names) if count <= 3 else f"{names[0]} to {names[-1]}"


def _read_workbook(path: Path, nrows: int | None, named: bool, notes: list[str]) -> pd.DataFrame:
    """An Excel workbook's sheets as text: the first, and each other sheet whose header is the same (a year
    per sheet, as retail exports split them); the others are left out with a note (empty ones, like the
    blank Sheet2 of a new workbook, without one). Dates come as ISO text
    ('2010-12-01 08:26:00') and numbers as written in the cell, whatever the spreadsheet's locale shows."""
    from python_calamine import CalamineError

    try:
        sheets = pd.read_excel(
            path,
            sheet_name=None,
            engine="calamine",
            dtype=str,
            header=0 if named else None,
            nrows=nrows,
            keep_default_na=False,
            na_values=[],
        )
    except (CalamineError, OSError, ValueError) as exc:
        raise InputError(
            f"{path.name}: cannot be read as an Excel workbook ({echo(str(exc), 160)}); save it again as .xlsx "
            "or as CSV UTF-8."
        ) from exc
    frames = [frame for frame in sheets.values() if frame.shape[1]]
    if not frames:
        raise InputError(
            f"{path.name}: every sheet of the workbook is empty; export the table with its data."
        )
    first = frames[0]
    header = [str(c).strip() for c in first.columns]
    kept = [name for name, frame in sheets.items() if [str(c).strip() for c in frame.columns] == header]
    left = [name for name, frame in sheets.items() if name not in kept and frame.shape[1]]  # not the empty
    if len(kept) > 1:
        notes.append(f"{path.name}: read the sheets {', '.join(repr(echo(n)) for n in kept)} as one table.")
    if left:
        notes.append(
            f"{path.name}: sheet(s) {', '.join(repr(echo(n)) for n in left)} not read: their header is not "
            f"the one of sheet '{echo(kept[0])}'."
        )
    frame = pd.concat([sheets[name] for name in kept], ignore_index=True).fillna("")
    if len(frame) == 0:
        raise InputError(f"{path.name}: has a header but no rows; export the table with its data.")
    frame.columns = header if named else positional_names(frame.shape[1])
    return frame.astype("str")


def _read_csv_arrow(path: Path, sep: str, named: bool = True) -> pd.DataFrame | None:
    """The CSV as string columns read by pyarrow.csv, or None when Arrow cannot read it as pandas would.

    Cells are kept as written ('' for an empty cell, never null), like pandas with dtype=str and no NA values.
    The header is read by pandas (one line), so names follow the same rules; rows are then read by position,
    which keeps a twice-named column and refuses a row with more or fewer cells than the header.
    """
    try:
        first = pd.read_csv(path, header=None, nrows=1, **_csv_options("utf-8-sig", sep))
    except (UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError, OSError, ValueError):
        return None
    if len(first) == 0:
        return None
    header = ["" if pd.isna(v) else str(v) for v in first.iloc[0].tolist()]
    positions = [f"c{i}" for i in range(len(header))]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                skip_rows=1 if named else 0, column_names=positions, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(delimiter=sep),
            convert_options=pacsv.ConvertOptions(
                # pandas' own text type: the columns become Series without a copy
                column_types={name: pa.large_string() for name in positions},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError):
        return None  # malformed rows, bad bytes, quoted line breaks: pandas reads (or refuses) it
    release_arrow_memory()  # the reader's buffers
    names = (
        [h.strip() or f"Unnamed: {i}" for i, h in enumerate(header)]
        if named
        else positional_names(len(header))
    )
    columns = {i: pd.Series(table.column(i), dtype="str") for i in range(len(names))}
    frame = pd.DataFrame(columns, copy=False)
    frame.columns = names
    return frame


def _read_pandas(
    path: Path, encoding: str, codec: str, nrows: int | None, sep: str, named: bool = True
) -> pd.DataFrame:
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            frame = frame if nrows is None else frame.head(nrows)
            header = [str(c) for c in frame.columns]
        else:
            options = _csv_options(codec, sep)
            if not named:
                frame = pd.read_csv(path, nrows=nrows, header=None, **options)
                frame.columns = positional_names(frame.shape[1])
                return frame
            frame = pd.read_csv(path, nrows=nrows, **options)
            first = pd.read_csv(path, header=None, nrows=1, **options)
            header = [str(v) for v in first.iloc[0].tolist()] if len(first) else []
    except UnicodeDecodeError:
        raise encoding_error(path, encoding, codec) from None
    except pd.errors.EmptyDataError as exc:
        raise InputError(
            f"{path.name}: the file has no header row; export the table with its column names."
        ) from exc
    except pd.errors.ParserError as exc:
        detail = echo(str(exc).strip().splitlines()[-1], 160)
        raise InputError(
            f"{path.name}: not a well-formed CSV ({detail}); check quoting and the delimiter (read as "
            f"{delimiter_name(sep)}; data.delimiter sets it)."
        ) from exc
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{path.name}: cannot be read as a table ({echo(str(exc), 160)}); export it as CSV or Parquet."
        ) from exc
    names = [str(c).strip() for c in frame.columns]
    if len(header) == len(names):  # blank header cells keep pandas' 'Unnamed: n'
        names = [h.strip() or n for h, n in zip(header, names, strict=True)]
    frame.columns = names
    return frame


def _plain(name: object) -> str:
    """A column name without case, spaces, underscores or hyphens: 'Account ID' and 'UnitPrice' as
    'accountid' and 'unitprice'."""
    return re.sub(r"[\s_\-]+", "", str(name).strip().lower())


_OUR_NAMES = frozenset(_plain(name) for spec in TABLES.values() for name in spec.columns)


def column_map(
    columns: Iterable[object],
    table: str,
    config: DataConfig,
    path: Path | None = None,
    notes: list[str] | None = None,
) -> dict[str, str]:
    """data.columns for `table`, completed with each of our columns the file writes in another case or
    spacing ('Account ID' or 'AccountID' for account_id, 'UnitPrice' for unit_price) when exactly one of its
    columns is written so and no setting maps it; noted when `notes` is given. Not the typed columns of
    accounts (employees, annual_revenue, created_date): under another name such a column is a profile
    attribute of any type, and taking it for ours could refuse a file that reads today."""
    mapping = dict(config.columns.get(table, {}))
    spec = TABLES[table]
    known = spec.columns
    typed = (*spec.numbers, *spec.dates) if table == "accounts" else ()
    names = [str(c) for c in columns]
    free = [n for n in names if n not in known and n not in mapping.values()]
    found = {}
    for ours in known:
        if ours in mapping or ours in names or ours in typed:
            continue
        matches = [n for n in free if _plain(n) == _plain(ours)]
        if len(matches) == 1:
            found[ours] = matches[0]
    if found and notes is not None and path is not None:
        note = (
            f"{path.name}: read "
            + ", ".join(f"'{echo(theirs)}' as {ours}" for ours, theirs in found.items())
            + f" (our names, written otherwise; data.columns.{table} maps columns by name)."
        )
        if note not in notes:
            notes.append(note)
    return {**mapping, **found}


def _map_columns(
    frame: pd.DataFrame, spec: TableSpec, mapping: dict[str, str], path: Path, notes: list[str] | None = None
) -> pd.DataFrame:
    """Rename the user's columns to ours and check the required ones are there."""
    notes = [] if notes is None else notes
    known = set(spec.columns)
    header = _header_hint(frame, path.suffix == ".parquet")  # what a refusal adds about the first line
    for ours, theirs in mapping.items():
        if spec.name != "accounts" and ours not in known:
            raise ConfigError(
                f"data.columns.{spec.name}: unknown column '{echo(ours)}'{_hint(ours, known)}; "
                f"map one of: {', '.join(sorted(known))}."
            )
        if theirs not in frame.columns:
            raise InputError(
                f"{path.name}: column '{echo(theirs)}' (mapped to '{echo(ours)}' in data.columns.{spec.name}) "
                "is not in the file"
                f"{_hint(theirs, frame.columns)}; columns found: {_list(frame.columns)}{header}."
            )
    frame = _duplicate_headers(frame, spec, mapping, path, notes)
    # a column of ours that the config maps to another one of the file's columns is not read
    shadowed = [ours for ours, theirs in mapping.items() if ours != theirs and ours in frame.columns]
    for ours in shadowed:
        notes.append(
            f"{path.name}: column '{ours}' is not used; data.columns.{spec.name}.{ours} reads "
            f"'{echo(mapping[ours])}' instead."
        )
    renamed = frame.drop(columns=shadowed).rename(columns={theirs: ours for ours, theirs in mapping.items()})
    duplicated = renamed.columns[renamed.columns.duplicated()].tolist()
    if duplicated:
        raise InputError(
            f"{path.name}: column '{echo(duplicated[0])}' appears twice (after mapping); "
            f"map each of our columns to a different column of the file in data.columns.{spec.name}."
        )
    for column in spec.required:
        if column == "amount" and spec.name == "transactions" and column not in renamed.columns:
            _amount_or_line_items(renamed, path, header, _suggested_map(renamed.columns, spec))
        elif column not in renamed.columns:
            raise InputError(
                f"{path.name}: required column '{column}' is missing{_hint(column, renamed.columns)}; "
                f"columns found: {_list(renamed.columns)}{header}; rename it in the file or "
                "map it with "
                f"data.columns.{spec.name}.{column} in the config"
                + (
                    " (a profile table without ids, one row per account: data.row_ids: true numbers its rows)"
                    if column == ID and spec.name in ROW_ID_TABLES
                    else ""
                )
                + f"{_suggested_map(renamed.columns, spec)}."
            )
    return renamed


# names exports give our columns, without case, spaces or underscores (`_plain`): a suggestion in a
# refusal, never read without a setting (a 'customer' column may hold names, a 'value' column anything)
_USUAL_NAMES = {
    ID: (
        "customerid customer custid custno customerno customernumber customercode clientid client clientno "
        "accountno accountnumber account userid memberid buyerid companyid householdkey householdid"
    ),
    "date": (
        "invoicedate orderdate transactiondate purchasedate saledate salesdate day timestamp datetime "
        "createdat orderedat eventdate activitydate txdate transactiontime eventtime paymentdate billingdate "
        "month period yearmonth"
    ),
    "amount": (
        "sales salesvalue revenue total totalamount totalprice value netvalue netamount spend orderamount "
        "ordervalue paymentvalue paymentamount amountpaid actualamountpaid grandtotal turnover price"
    ),
    "quantity": "qty units quantityordered",
    "unit_price": "price priceeach unitcost",
    "order_id": "invoiceno invoice invoiceid invoicenumber orderno ordernumber basketid transactionid receiptid",
    "product": "stockcode sku productid item itemid article",
    "kind": "type activitytype eventtype event channel",
    "churned": "churn ischurn churnflag churnlabel exited attrition attrited left",
}


def _suggested_map(columns: Sequence[object], spec: TableSpec, also: Sequence[str] = ()) -> str:
    """A data.columns entry for the table's columns missing from `columns` (as mapped so far), from the
    names exports usually give them ('CustomerID', 'InvoiceDate'), as '; e.g. ...'; '' when none is found.
    With a line-item export's quantity and unit price found, the amount is left to them. `also`: more of
    our columns whose suggestion makes one worth giving (the required ones and the line items do)."""
    names = [str(c) for c in columns]
    wanted = spec.columns
    found: dict[str, str] = {}
    for ours in wanted:
        if ours in names:
            continue
        usual = _USUAL_NAMES.get(ours, "").split()
        for theirs in names:
            if theirs not in found.values() and theirs not in wanted and _plain(theirs) in usual:
                found[ours] = theirs
                break
    quantity = "quantity" in names or "quantity" in found
    if quantity and "amount" in found and _plain(found["amount"]) in _USUAL_NAMES["unit_price"].split():
        found["unit_price"] = found.pop("amount")  # 'Price' beside a quantity is the unit price
    if not any(ours in (*spec.required, *LINE_ITEM_COLUMNS, *also) for ours in found):
        return ""
    entry = ", ".join(f"{ours}: {_yaml_name(theirs)}" for ours, theirs in found.items())
    return f"; e.g. data.columns: {{{spec.name}: {{{entry}}}}} (from the names found: check them)"


def _yaml_name(name: str) -> str:
    """A column name as a YAML flow value: quoted when it holds anything but letters, digits and _."""
    return name if re.fullmatch(r"[A-Za-z_][\w]*", name) else "'" + echo(name).replace("'", "''") + "'"


def _with_row_ids(raw: pd.DataFrame, path: Path, notes: list[str]) -> pd.DataFrame:
    """`raw` with each row's number in its file as its account id (data.row_ids): the header is row 1, or
    the first row is in a file without one."""
    first = first_row_number()
    ids = pd.Series(np.arange(first, len(raw) + first).astype(str), index=raw.index, dtype="str")
    note = (
        f"{path.name}: no account id column; each row's number in the file is its id (data.row_ids), "
        f"'{first}' to '{len(raw) + first - 1}'."
    )
    if note not in notes:  # accounts and labels read from one file say it once
        notes.append(note)
    return pd.concat([ids.rename(ID), raw], axis=1)


def check_row_ids(sources: dict[str, Path], config: DataConfig) -> None:
    """Refuse data.row_ids where row numbers cannot name the same account in every table: beside events
    (which name accounts by id), or with accounts and labels in two files (whose rows need not match)."""
    if not config.row_ids:
        return
    events = [sources[t] for t in ("transactions", "activities") if t in sources]
    if events:
        raise ConfigError(
            f"data.row_ids numbers the rows of a profile table, but {events[0].name} names accounts by id: "
            "the two cannot be matched. Turn data.row_ids off and give the profile table an id column."
        )
    if "accounts" in sources and "labels" in sources and sources["accounts"] != sources["labels"]:
        raise ConfigError(
            f"data.row_ids: accounts ({sources['accounts'].name}) and labels ({sources['labels'].name}) are "
            "two files, and row numbers name the same account only within one file. Read both from one file "
            "(data.tables: {accounts: NAME, labels: NAME}) or add an id column to each."
        )


def _amount_or_line_items(frame: pd.DataFrame, path: Path, hint: str = "", suggested: str = "") -> None:
    """Refuse a transactions table with neither an amount nor both line-item columns to compute it from."""
    present = [c for c in LINE_ITEM_COLUMNS if c in frame.columns]
    if len(present) == len(LINE_ITEM_COLUMNS):
        return
    if present:
        missing = next(c for c in LINE_ITEM_COLUMNS if c not in frame.columns)
        raise InputError(
            f"{path.name}: no 'amount' column, and '{present[0]}' alone cannot give one (amount = quantity x "
            f"unit_price): column '{missing}' is missing{_hint(missing, frame.columns)}; columns found: "
            f"{_list(frame.columns)}; map it with data.columns.transactions.{missing}, or map the line amount "
            f"with data.columns.transactions.amount{suggested}."
        )
    raise InputError(
        f"{path.name}: required column 'amount' is missing{_hint('amount', frame.columns)}; columns found: "
        f"{_list(frame.columns)}{hint}; rename it in the file or map it with "
        "data.columns.transactions.amount in the "
        "config (a line-item export without amounts: map data.columns.transactions.quantity and .unit_price)"
        f"{suggested}."
    )


def _duplicate_headers(
    frame: pd.DataFrame, spec: TableSpec, mapping: dict[str, str], path: Path, notes: list[str]
) -> pd.DataFrame:
    """Refuse a header that names a column we read twice; drop (with a note) twice-named columns we never read."""
    columns = pd.Index(frame.columns)
    twice = list(dict.fromkeys(columns[columns.duplicated()]))
    if not twice:
        return frame
    known = set(spec.columns)
    read = (known - set(mapping)) | set(mapping.values())
    for name in twice:
        if spec.name == "accounts" or name in read:  # every accounts column is a profile attribute
            where = ", ".join(str(i + 1) for i in np.flatnonzero(columns == name)[:3])
            ours = next((o for o, t in mapping.items() if t == name), name)
            raise InputError(
                f"{path.name}: the header names column '{echo(name)}' {int((columns == name).sum())} times "
                f"(columns {where}), so it is not clear which one to read; rename one of them in the file, "
                f"or map the column you want to use under another name with data.columns.{spec.name}.{echo(ours)}."
            )
    notes.append(
        f"{path.name}: column(s) {', '.join(repr(echo(n)) for n in twice)} appear more than once in the header; "
        "they are not used, so every copy is ignored."
    )
    return frame.loc[:, ~columns.isin(twice)]


def _hint(name: str, options) -> str:
    close = difflib.get_close_matches(echo(name), [echo(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _list(columns) -> str:
    cols = [echo(c, 40) for c in columns]
    listed = ", ".join(cols[:12]) + (f", ... ({len(cols)} in all)" if len(cols) > 12 else "")
    name = str(columns[0]).strip() if len(cols) == 1 else ""
    joined = [d for d in DELIMITERS if d in name] or ([WHITESPACE] if len(name.split()) > 1 else [])
    if joined:  # one column whose name holds a delimiter: the header was split at the wrong one
        listed += (
            f" (one column: if the file separates columns with {delimiter_name(joined[0])}, "
            f"set data.delimiter: {delimiter_setting(joined[0])})"
        )
    return listed


def _header_hint(frame: pd.DataFrame, parquet: bool = False) -> str:
    """What a refusal naming the columns found adds about the file's first line (`frame`: as read, before
    the column map): its values by position when the file has no header line, or the setting when its
    header line looks like data (never of a `parquet` file: it names its columns)."""
    names = [str(c) for c in frame.columns]
    if names and names == positional_names(len(names)):
        if len(frame) == 0:
            return ""
        values = [
            f"{n} = '{echo(v, 24)}'" for n, v in zip(names[:8], frame.iloc[0].tolist()[:8], strict=True)
        ]
        return f" (no header line; the first row has {', '.join(values)}; if it is the header, set data.header: true)"
    if names and 2 * sum(map(is_data_cell, names)) >= len(names) and not parquet:
        return (
            " (the header line looks like data: if the file has none, set data.header: false and map the "
            "columns by position, column_1, column_2, ...)"
        )
    return ""


def _strip(series: pd.Series) -> pd.Series:
    """The column as "string" text without surrounding whitespace: its own data (no copy) when no value has any."""
    text = series.astype("string")
    stripped = text.str.strip()
    return text if bool((stripped == text).all()) else stripped


def _blank_stripped(text: pd.Series) -> np.ndarray:
    """`_blank` of text that is stripped already: missing or empty (no second strip of every value)."""
    return text.isna().to_numpy() | (text == "").fillna(False).to_numpy(dtype=bool)


def _blank(series: pd.Series) -> np.ndarray:
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        return (series.isna() | (series.astype(str).str.strip() == "")).to_numpy()
    return series.isna().to_numpy()


def parse_dates(
    series: pd.Series,
    fmt: str | None,
    path: Path,
    column: str,
    table: str,
    required: bool,
    dayfirst: bool | None = None,
    notes: list[str] | None = None,
    source: str | None = None,
) -> pd.Series:
    """Naive timestamps, the local time as written: a time zone is dropped, not applied (`_local_times`);
    bad values are an error (`source`: the file's name for the column when data.columns maps it).

    Without `fmt`: ISO dates as they are; numeric d/m/y dates in the order `dayfirst` gives, or, when it
    is None, the order the column's own values settle (decide_date_order: refused if they do not).
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        parsed = series
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)  # the wall-clock time in its zone (`_zone_notes`)
        bad = np.zeros(len(series), dtype=bool)
        blank = parsed.isna().to_numpy()
    else:
        text = series.astype("string").str.strip()
        blank = _blank_stripped(text)
        days = None if fmt else iso_days(text)  # 'YYYY-MM-DD' in one columnar pass
        if days is not None and not np.isnat(days).all():
            todo = np.isnat(days) & ~blank
            parsed = pd.Series(days, index=text.index)
            if todo.any():
                rest = _parse_date_text(text[todo], fmt, path, column, blank[todo], dayfirst, notes)
                parsed = parsed.astype(rest.dtype)  # a coarser unit holds the year-0001 values refused below
                parsed[todo] = rest.to_numpy()
        else:
            parsed = _parse_date_text(text, fmt, path, column, blank, dayfirst, notes)
        bad = parsed.isna().to_numpy() & ~blank
    # a year like 0001 parses but means a broken export, and cannot be held at nanosecond precision
    bad = bad | ((parsed < EARLIEST_DATE) | (parsed > LATEST_DATE)).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        rows = np.flatnonzero(bad)
        hint = (
            f"expected format '{fmt}' or ISO dates" if fmt else "expected ISO dates like 2024-03-31"
        ) + " between 1900 and 2200"
        raise table_error(
            path,
            f"column {_shown(column, source)} has {len(rows)} unparseable date(s)",
            f"{hint}; fix the values or {'change' if fmt else 'set'} data.date_format in the config"
            f"{_date_format_hint(series.to_numpy()[rows], fmt)}.",
            rows,
            series.to_numpy()[rows],
        )
    if required and blank.any():
        rows = np.flatnonzero(blank)
        raise table_error(
            path,
            f"column {_shown(column, source)} has {len(rows)} empty date(s)",
            "every row needs a date.",
            rows,
        )
    out = parsed.astype("datetime64[ns]")
    out.index = series.index
    return out


# a time followed by a time zone ('00:30:00+02:00', '10:00 UTC', '10:00:00Z'): the zone is dropped
_TIME, _ZONE = r"\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?", r"\s*(?:Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)$"


def _zone_in_format(fmt: str | None) -> bool:
    """True for a data.date_format that parses the zone (%z, %Z): its times are converted to UTC."""
    return bool(fmt) and ("%z" in str(fmt) or "%Z" in str(fmt))


def _zoned(text: pd.Series) -> np.ndarray:
    return text.str.contains(_TIME + _ZONE, regex=True).fillna(False).to_numpy(dtype=bool)


def _local_times(text: pd.Series) -> pd.Series:
    """Date text with each time's zone dropped: the local time as written is the time of the event. The
    business's day is the one on its books: converted to UTC, a sale at 00:30+02:00 on the 5th would fall
    on the 4th, before an as-of of the 5th, and be seen by features that must not see that day."""
    zoned = _zoned(text)
    if not zoned.any():
        return text
    out = text.copy()
    out[zoned] = text[zoned].str.replace(f"({_TIME}){_ZONE}", r"\1", regex=True)
    return out


def _parse_date_text(
    text: pd.Series,
    fmt: str | None,
    path: Path,
    column: str,
    blank: np.ndarray,
    dayfirst: bool | None,
    notes: list[str] | None,
) -> pd.Series:
    """Naive timestamps of date text (NaT where a value does not parse): `fmt` (a strftime format or a
    number format) then ISO, or without one ISO then d/m/y, then names. ISO dates are read under any `fmt`:
    the one setting applies to every table, and an accounts table from another system writes ISO dates
    beside transactions in the configured format."""
    if not _zone_in_format(fmt):
        text = _local_times(text)
    if fmt:
        if number_date(fmt) is not None:
            parsed = _number_dates(text, fmt).dt.tz_localize("UTC")
        else:
            parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
        retry = parsed.isna().to_numpy() & ~blank
        if retry.any():
            parsed = parsed.copy()
            parsed[retry] = pd.to_datetime(text[retry], format="ISO8601", errors="coerce", utc=True)
    else:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        retry = parsed.isna().to_numpy() & ~blank
        if retry.any():
            if dayfirst is None:
                dayfirst = decide_date_order(text[retry], path, column)
                if dayfirst is not None and notes is not None:
                    notes.append(date_order_note(text[retry], path, column, dayfirst))
            parsed = parsed.copy()
            if dayfirst is not None:
                parsed[retry] = parse_numeric_dates(text[retry], dayfirst)
                retry = parsed.isna().to_numpy() & ~blank
            if retry.any():  # month names and other spelled-out dates ('5 Jan 2024'): unambiguous
                parsed[retry] = pd.to_datetime(
                    text[retry], format="mixed", errors="coerce", utc=True, dayfirst=bool(dayfirst)
                )
    return parsed.dt.tz_localize(None)


# data.date_format names for dates written as numbers: (unit, origin, largest magnitude of 1900-2200)
NUMBER_DATES = {
    "unix": ("s", "unix", 7.3e9),
    "unix_ms": ("ms", "unix", 7.3e12),
    "excel": ("D", "1899-12-30", 1.2e5),
}


def number_date(fmt: str | None) -> tuple[str, str, float] | None:
    """(unit, origin, largest magnitude) of a data.date_format for dates written as numbers, else None."""
    if fmt is None:
        return None
    start = days_since(fmt)
    return ("D", start.isoformat(), 1.2e5) if start is not None else NUMBER_DATES.get(fmt)


def _number_dates(text: pd.Series, fmt: str) -> pd.Series:
    """Naive timestamps of dates written as numbers (`number_date`); NaT for text that is not a number or
    lies far outside 1900-2200 (refused by the caller as unparseable)."""
    spec = number_date(fmt)
    assert spec is not None
    unit, origin, largest = spec
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    numbers[~(np.abs(numbers) <= largest)] = np.nan
    return pd.Series(pd.to_datetime(numbers, unit=unit, origin=origin), index=text.index)


def _date_format_hint(values: np.ndarray, fmt: str | None) -> str:
    """The data.date_format to suggest for unparseable dates, in parentheses: a number format when every
    one is a number of that size (epoch seconds or milliseconds, spreadsheet day numbers), else an example
    of a strftime one when none is set ('' when one is: the values do not fit it)."""
    numbers = pd.to_numeric(pd.Series(values, dtype="str").str.strip(), errors="coerce")
    if len(numbers) and numbers.notna().all():
        for low, high, name, meaning in (
            (1e8, 1e10, "unix", "seconds since 1970"),
            (1e11, 1e13, "unix_ms", "milliseconds since 1970"),
            (1e4, 1.2e5, "excel", "a spreadsheet's day numbers"),
        ):
            if numbers.between(low, high).all() and fmt != name:
                return f" ('{name}' if they are {meaning})"
        if numbers.between(0, 1e4).all() and (numbers % 1 == 0).all() and days_since(fmt or "") is None:
            return (
                " ('days since 2020-01-01' if they count days from a start date: the date their 0 stands for)"
            )
    return "" if fmt else " (e.g. '%Y%m%d')"


def _refuse_absurd(numbers: np.ndarray, series: pd.Series, path: Path, shown: str, fix: str) -> None:
    """Refuse infinite values and magnitudes beyond MAX_ABS_NUMBER, naming the rows (`shown`: the column)."""
    with np.errstate(invalid="ignore"):
        absurd = ~np.isnan(numbers) & ~(np.abs(numbers) <= MAX_ABS_NUMBER)
    if absurd.any():
        rows = np.flatnonzero(absurd)
        raise table_error(
            path,
            f"column {shown} has {len(rows)} value(s) that are infinite or larger than {MAX_ABS_NUMBER:.0e} in size",
            fix,
            rows,
            series.to_numpy()[rows],
        )


def parse_numbers(
    series: pd.Series,
    path: Path,
    column: str,
    table: str,
    required: bool,
    decimal: str | None = None,
    notes: list[str] | None = None,
    source: str | None = None,
) -> pd.Series:
    """Floats; text is read with the `decimal` separator ('.' or ','), decided from the column when None.

    Refused: values that are not numbers, blanks in a required column, and values that are not finite or
    beyond +-MAX_ABS_NUMBER (1e15) — a broken export, and a sum that would overflow later. `source` is the
    file's name for the column when data.columns maps it (messages name both).
    """
    shown = _shown(column, source)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.astype(float)
        blank = values.isna().to_numpy()
        bad = np.zeros(len(series), dtype=bool)
    else:
        text = series.astype("string").str.strip()
        blank = _blank_stripped(text)
        if decimal is None:
            decimal = plan_decimals(
                {column: text[~blank]}, path, table, "auto", [] if notes is None else notes
            )[column]
        values = parse_number_text(text.where(~blank), decimal)
        bad = values.isna().to_numpy() & ~blank
    if bad.any():
        rows = np.flatnonzero(bad)
        raise table_error(
            path,
            f"column {shown} has {len(rows)} non-numeric value(s)",
            f"fix the file or map another column with data.columns.{table}.{column} in the config.",
            rows,
            series.to_numpy()[rows],
        )
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    _refuse_absurd(
        numbers,
        series,
        path,
        shown,
        "no real amount is that large: fix the export (a unit or overflow error?) or drop those rows.",
    )
    if required and blank.any():
        rows = np.flatnonzero(blank)
        raise table_error(
            path,
            f"column {shown} has {len(rows)} empty value(s)",
            "every row needs a number here"
            + (" (amount = quantity x unit_price)." if column in LINE_ITEM_COLUMNS else "."),
            rows,
        )
    return pd.Series(numbers, index=series.index)


def _shown(column: str, source: str | None) -> str:
    """How a message names a column: ours, and the file's name for it when data.columns maps it."""
    return f"'{column}'" if source in (None, column) else f"'{echo(source)}' (read as '{column}')"


def _clean_ids(
    frame: pd.DataFrame,
    path: Path,
    table: str,
    source: str | None = None,
    blank_ids: str = "refuse",
    share_limit: bool = True,
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The table with its ids as stripped text, and the rows without one that `data.blank_ids: drop` lets
    an events table leave out (None when there are none); any other row without an id is refused, and with
    `share_limit` all of them when they are more than MAX_BLANK_ID_SHARE of the rows."""
    ids = frame[ID]
    if pd.api.types.is_float_dtype(ids):
        ids = ids.map(lambda v: "" if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v)))
    ids = _strip(ids)
    blank = _blank_stripped(ids)
    unnamed = None
    if blank.any():
        events = table in ("transactions", "activities")
        if events and blank_ids == "drop" and (not share_limit or blank.mean() <= MAX_BLANK_ID_SHARE):
            unnamed = blank
        else:
            rows = np.flatnonzero(blank)
            raise unnamed_refusal(path, table, source, blank_ids, len(rows), len(blank), rows)
    frame = frame.copy(deep=False)
    frame[ID] = ids.astype(str)
    return frame, unnamed


def unnamed_refusal(
    path: Path,
    table: str,
    source: str | None,
    blank_ids: str,
    count: int,
    total: int,
    rows: Sequence[int] | None = None,
) -> InputError:
    """The error for `count` of `total` rows without an account id that `data.blank_ids` does not let the
    table leave out (`rows`: the first of them, when known)."""
    if table not in ("transactions", "activities"):
        fix = "every row needs an account id; fill them in, or drop the rows without one"
    elif blank_ids == "drop":
        fix = (
            f"more than {MAX_BLANK_ID_SHARE:.0%} of the rows have no id, so the column is likely not the "
            "account id"
        )
    else:
        fix = (
            "every row needs an account id (data.blank_ids is refuse); set data.blank_ids: drop to "
            "leave out the rows without one (sales to unnamed customers cannot be ranked)"
        )
    return table_error(
        path,
        f"column {_shown(ID, source)} has {count} empty id(s) in {total} row(s)",
        f"{fix}; or map the column holding the ids with data.columns.{table}.{ID}.",
        rows,
    )


def unnamed_note(name: str, count: int, rows: Sequence[int]) -> str:
    """The note on `count` rows left out for want of an account id (`rows`: the first of them, when known)."""
    shown = f" (rows {example_rows(rows)}{', ...' if count > 3 else ''})" if len(rows) else ""
    return (
        f"{name}: left out {count:,} row(s) {UNNAMED_ROWS}{shown}; they belong to no account "
        "(data.blank_ids: drop, set it to refuse to stop on them instead)."
    )


def _without_unnamed(frame: pd.DataFrame, unnamed: np.ndarray, path: Path, notes: list[str]) -> pd.DataFrame:
    """The rows with an account id (`data.blank_ids: drop`), the others counted in a note. Called once the
    table is validated, so every refusal before it names the file's own row numbers."""
    notes.append(unnamed_note(path.name, int(unnamed.sum()), np.flatnonzero(unnamed)[:3]))
    return frame.loc[~unnamed].reset_index(drop=True)


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
        blank = _blank_stripped(text)
        if blank.all():
            out[column] = np.nan
            notes.append(f"{path.name}: column '{column}' is empty in every row; it is ignored.")
            continue
        values = Distinct.of(text.where(~blank))  # a profile column repeats a few values (industry, region)
        numbers = values.spread(_profile_numbers(values.values, path, column, notes), text.index)
        numeric_share = (numbers.notna() & ~blank).sum() / max((~blank).sum(), 1)
        if numeric_share == 1.0:
            _refuse_absurd(
                numbers.to_numpy(dtype=float, na_value=np.nan),
                series,
                path,
                f"'{column}'",
                "fix the export or drop the column.",
            )
            out[column] = numbers.astype(float)
            if blank.any():
                notes.append(
                    f"{path.name}: column '{column}' is numeric with {int(blank.sum())} blank value(s); "
                    "they count as missing."
                )
        else:
            if numeric_share > 0.9:
                bad = np.flatnonzero(numbers.isna().to_numpy() & ~blank)
                examples = ", ".join(repr(echo(v)) for v in text.to_numpy()[bad[:3]])
                notes.append(
                    f"{path.name}: column '{column}' is mostly numeric but has {len(bad)} text value(s) "
                    f"(e.g. {examples}); it is treated as text."
                )
            out[column] = text.where(~blank).astype(object)
    return out


def _without_outcomes(frame: pd.DataFrame, path: Path, config: DataConfig, notes: list[str]) -> pd.DataFrame:
    """The accounts table without its outcome columns: those named as a label (`churned`, `expanded`) or as
    the column data.columns.labels maps to one, in any case. A telecom export ships 'Churn' in its one file,
    read as both accounts and labels: as a profile attribute it would be learnt as the answer itself (a
    perfect ROC-AUC on the held-out rows, and a list that ranks the known churners first)."""
    mapping = dict(config.columns.get("labels", {}))
    outcome = {}  # lower-case column name -> the label it holds
    for label in LABEL_COLUMNS:
        for name in (label, mapping.get(label, label)):
            outcome[str(name).strip().lower()] = label
    found = {c: outcome[str(c).strip().lower()] for c in frame.columns if str(c).strip().lower() in outcome}
    found.pop(ID, None)
    if not found:
        return frame
    said = ", ".join(f"'{echo(c)}' (the {label} label)" for c, label in found.items())
    one_file = config.tables.get("accounts", "accounts") == config.tables.get("labels", "labels")
    notes.append(
        f"{path.name}: column(s) {said} hold the outcome the models learn, so they are not used as profile "
        + (
            "features (the file is read as labels too)."
            if one_file
            else "features; remove them from the accounts export to silence this note."
        )
    )
    return frame.drop(columns=list(found))


def _profile_numbers(text: pd.Series, path: Path, column: str, notes: list[str]) -> pd.Series:
    """A free profile column as numbers if its values settle one decimal convention; NaN where not a number.

    Unlike the contract's number columns, an unsettled column is not refused: values like '1,234' stay
    text (a category), as any other text does.
    """
    point, comma, _ambiguous = separator_evidence(text.fillna(""))
    if comma.any() and not point.any():
        numbers = parse_number_text(text, ",")
        if numbers.notna().sum() == text.notna().sum():
            example = echo(str(text.to_numpy()[np.flatnonzero(comma)[0]]))
            notes.append(
                f"{path.name}: column '{column}' uses a decimal comma (e.g. '{example}'); read as numbers."
            )
        return numbers
    if point.any() and not comma.any():
        return parse_number_text(text, ".")
    return to_numbers(text)


def _labels(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    present = [c for c in LABEL_COLUMNS if c in frame.columns]
    if not present:
        raise InputError(
            f"{path.name}: needs a 'churned' and/or 'expanded' column with 0/1 values; "
            f"columns found: {_list(frame.columns)}; rename one or map it with data.columns.labels.churned"
            f"{_suggested_map(frame.columns, TABLES['labels'], also=LABEL_COLUMNS)}."
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


def _sorted_events(frame: pd.DataFrame, path: Path, policy: str, notes: list[str]) -> pd.DataFrame:
    """The events in (date, account) order, exact duplicate rows counted (and dropped under policy 'drop').

    The sort is stable, so identical rows keep their file order and the first of each is the one kept.
    Identical rows share their (date, account), so only rows in such a run of two or more are compared.
    A table already in that order (most exports are) is not sorted or copied.
    """
    ids = _id_keys(frame[ID])
    dates = frame["date"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    same_day = dates[1:] == dates[:-1]
    if not ((dates[1:] > dates[:-1]) | (same_day & _pairs(pc.less_equal, ids))).all():
        order = pc.sort_indices(
            pa.table({"d": dates, "i": ids}), sort_keys=[("d", "ascending"), ("i", "ascending")]
        ).to_numpy()
        frame = frame.take(order).reset_index(drop=True)
        ids, dates = (
            ids.take(pa.array(order)) if isinstance(ids, pa.ChunkedArray) else ids[order],
            dates[order],
        )
        same_day = dates[1:] == dates[:-1]
    same = same_day & _pairs(pc.equal, ids)
    run = np.zeros(len(frame), dtype=bool)
    run[1:] |= same
    run[:-1] |= same
    dup = np.zeros(len(frame), dtype=bool)
    if run.any():
        dup[run] = frame.loc[run].duplicated().to_numpy()
    count = int(dup.sum())
    if count:
        if policy == "drop":
            notes.append(f"{path.name}: dropped {count} exact duplicate row(s) (data.duplicate_rows: drop).")
            return frame.loc[~dup].reset_index(drop=True)
        notes.append(
            f"{path.name}: kept {count} exact duplicate row(s); set data.duplicate_rows: drop to remove them."
        )
    return frame


def _id_keys(ids: pd.Series) -> pa.ChunkedArray | np.ndarray:
    """Keys that sort as the ids do: the codes of ids stored as sorted categories, else the text itself."""
    if isinstance(ids.dtype, pd.CategoricalDtype) and ids.cat.categories.is_monotonic_increasing:
        return ids.cat.codes.to_numpy()
    return _arrow_text(ids)


def _pairs(compare: Callable, keys: pa.ChunkedArray | np.ndarray) -> np.ndarray:
    """`compare` of each key with the next one, as booleans."""
    return np.asarray(compare(keys[:-1], keys[1:]).to_numpy(zero_copy_only=False), dtype=bool)


def _arrow_text(series: pd.Series) -> pa.ChunkedArray:
    """A text column's Arrow data, shared (not copied) when Arrow already holds it."""
    if isinstance(series.array, pd.arrays.ArrowStringArray):
        return pa.chunked_array(series.array.__arrow_array__())
    return pa.chunked_array([pa.array(series, type=pa.string())])


@dataclass(frozen=True)
class Distinct:
    """A column as its distinct values, in order of first appearance, and the code of each row's value.

    Reading a value (a date, a number) depends on the value alone, so it is done once per distinct value and
    spread to the rows; the first value with some property is also the first row's, so notes quote the same
    example. Events repeat their values: three years of activity dates are about a thousand days.
    """

    values: pd.Series
    codes: np.ndarray

    @classmethod
    def of(cls, series: pd.Series) -> Distinct:
        codes, values = pd.factorize(series, use_na_sentinel=False)
        return cls(pd.Series(values, dtype=series.dtype), codes)

    def spread(self, per_value: pd.Series, index: pd.Index) -> pd.Series:
        """Per-row values of `per_value` (one per distinct value), on the rows' `index`."""
        return pd.Series(per_value.to_numpy()[self.codes], index=index, name=per_value.name)


def _repeats(series: pd.Series, sample: int = 20_000) -> bool:
    """Whether the column's first rows repeat their values (dates, quantities) enough that reading each
    distinct value once is cheaper than reading every row (amounts, nearly all different, are not)."""
    head = series.iloc[:sample]
    return len(pd.unique(head)) * 4 <= len(head)


def _is_text(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series))


T = TypeVar("T")


def _by_value(on_values: Callable[[list[str]], T], on_rows: Callable[[], T], notes: list[str]) -> T:
    """`on_values(found)` (computed from distinct values, its notes added to `notes`), or, when it refuses
    the input, `on_rows()`: the same check on every row raises the error, naming the rows of the file."""
    found: list[str] = []
    try:
        result = on_values(found)
    except InputError:
        return on_rows()
    notes.extend(found)
    return result


def _parse_by_value(
    series: pd.Series, distinct: Distinct | None, parse: Callable[..., pd.Series], notes: list[str]
) -> pd.Series:
    """`parse(series, notes=notes)` computed on the column's distinct values and spread to the rows (see
    `Distinct`); without them (values that rarely repeat), on the rows."""
    if distinct is None:
        return parse(series, notes=notes)
    return _by_value(
        lambda found: distinct.spread(parse(distinct.values, notes=found), series.index),
        lambda: parse(series, notes=notes),
        notes,
    )


@dataclass(frozen=True)
class ReadPlan:
    """The conventions of one table, decided once for whole columns: decimal separator per number column,
    day-first (True) or month-first (False) per date column with d/m/y values."""

    decimal: dict[str, str] = field(default_factory=dict)
    dayfirst: dict[str, bool | None] = field(default_factory=dict)


def plan_table(raw: pd.DataFrame, path: Path, table: str, config: DataConfig, notes: list[str]) -> ReadPlan:
    """Decide the table's conventions from `raw` (the whole table, or a sample of it) and note each decision.

    Raises InputError when a column mixes conventions or none of its values settles one (the message names
    the config key that does). An engine reading a table in partitions calls this once and passes the plan
    to `clean_table` for every partition, so every partition is read the same way.
    """
    spec = TABLES[table]
    frame = _map_columns(raw, spec, column_map(raw.columns, table, config, path, notes), path, [])
    return _plan(frame, spec, path, config, notes)


def unnamed_rows(raw: pd.DataFrame, path: Path, table: str, config: DataConfig) -> np.ndarray:
    """Positions of the rows of `raw` (a table as read, or a sample of it) without an account id."""
    frame = _map_columns(raw, TABLES[table], column_map(raw.columns, table, config), path, [])
    return np.flatnonzero(_blank(frame[ID]))


def _plan(
    frame: pd.DataFrame,
    spec: TableSpec,
    path: Path,
    config: DataConfig,
    notes: list[str],
    distinct: dict[str, Distinct] | None = None,
) -> ReadPlan:
    """The table's conventions; with `distinct`, decided from each column's distinct values (the same
    decisions and notes: values are kept in order of first appearance, so the first example is the same)."""
    texts: dict[str, pd.Series] = {}
    for column in (*spec.numbers, *spec.dates):
        if column not in frame.columns:
            continue
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue  # typed already (Parquet): nothing to decide
        if distinct is not None and column in distinct:
            series = distinct[column].values
        text = series.astype("string").str.strip()
        texts[column] = text[~_blank_stripped(text)]
    for column in spec.dates:
        if column in frame.columns:
            notes.extend(_zone_notes(texts.get(column, frame[column]), path, column, config.date_format))
    numbers = {c: t for c, t in texts.items() if c in spec.numbers}
    decimal = plan_decimals(numbers, path, spec.name, config.decimal, notes)
    dayfirst: dict[str, bool | None] = {}
    if config.date_format is None:
        for column in (c for c in texts if c in spec.dates):
            text = texts[column]
            rest = text[np.isnat(iso_days(text))]  # plain ISO days settle nothing: one columnar pass
            iso = pd.to_datetime(rest, format="ISO8601", errors="coerce", utc=True).notna().to_numpy()
            rest = rest[~iso]
            dayfirst[column] = decide_date_order(rest, path, column)
            if dayfirst[column] is not None:
                notes.append(date_order_note(rest, path, column, dayfirst[column]))
    if spec.name == "transactions":
        _plan_line_items(frame, path, config, notes)
    return ReadPlan(decimal, dayfirst)


def _zone_notes(values: pd.Series, path: Path, column: str, fmt: str | None) -> list[str]:
    """The note that a date column's times carry a zone which is not applied (`_local_times`): times in a
    Parquet zone, or text with a zone (`values`: the column's text without blanks)."""
    zone = getattr(values.dt, "tz", None) if pd.api.types.is_datetime64_any_dtype(values) else None
    if zone is not None:
        return [
            f"{path.name}: column '{column}' holds times in zone {zone}; each is read as the local time, the "
            "zone not applied (a sale at 00:30 on the 5th is on the 5th)."
        ]
    if not pd.api.types.is_string_dtype(values) or _zone_in_format(fmt):
        return []  # typed already (Parquet dates without a zone, numbers), or a format that converts
    zoned = _zoned(values)
    if not zoned.any():
        return []
    return [
        f"{path.name}: column '{column}' has times with a zone (e.g. '{echo(values[zoned].iloc[0])}'); each is "
        "read as the local time written, the zone not applied (a sale at 00:30+02:00 on the 5th is on the 5th)."
    ]


def _plan_line_items(frame: pd.DataFrame, path: Path, config: DataConfig, notes: list[str]) -> None:
    """State how a line-item export is read: where the amount comes from, and which orders cancel."""
    if "amount" not in frame.columns:
        notes.append(
            f"{path.name}: no amount column; each line's amount is quantity x unit_price, and lines with a "
            "negative quantity are returns."
        )
    elif "unit_price" in frame.columns:
        notes.append(
            f"{path.name}: has both 'amount' and 'unit_price'; 'amount' is each line's value (quantity x "
            "unit_price is not computed; map only quantity and unit_price to compute it)."
        )
    prefix = config.cancellation_prefix
    if prefix is not None and "order_id" not in frame.columns:
        raise InputError(
            f"{path.name}: data.cancellation_prefix is '{echo(prefix)}', but the table has no order_id column "
            f"(columns found: {_list(frame.columns)}); map the order or invoice number with "
            "data.columns.transactions.order_id, or remove data.cancellation_prefix."
        )


def _line_amounts(frame: pd.DataFrame, path: Path, config: DataConfig, notes: list[str]) -> pd.DataFrame:
    """The amount of every line: given, or quantity x unit_price; returns and cancellations made negative.

    A line is a return when its quantity or amount is negative, or its order id starts with
    data.cancellation_prefix (a cancelling order: its lines are returns whatever sign the export wrote).
    A return's amount is -|amount|, so sums net out and it never counts as a purchase or an order.
    """
    derive = "amount" not in frame.columns
    prefix = config.cancellation_prefix
    if not derive and "quantity" not in frame.columns and prefix is None:
        return frame  # amounts as given: the sign says it all
    returns = np.zeros(len(frame), dtype=bool)
    if derive:
        with np.errstate(invalid="ignore", over="ignore"):
            amount = frame["quantity"].to_numpy(dtype=float) * frame["unit_price"].to_numpy(dtype=float)
            absurd = ~(np.abs(amount) <= MAX_ABS_NUMBER)
        if absurd.any():
            rows = np.flatnonzero(absurd)
            raise table_error(
                path,
                f"quantity x unit_price is larger than {MAX_ABS_NUMBER:.0e} in {len(rows)} row(s)",
                "fix the export, or check data.columns.transactions.quantity and .unit_price read the right columns.",
                rows,
            )
    else:
        amount = frame["amount"].to_numpy(dtype=float, copy=True)
    if "quantity" in frame.columns:
        returns |= np.nan_to_num(frame["quantity"].to_numpy(dtype=float)) < 0
    if prefix is not None and "order_id" in frame.columns:
        cancels = frame["order_id"].str.startswith(prefix).to_numpy(dtype=bool)
        if cancels.any():
            notes.append(
                f"{path.name}: {int(cancels.sum())} line(s) on {frame['order_id'][cancels].nunique()} cancelling "
                f"order(s) (order ids starting with '{echo(prefix)}', data.cancellation_prefix) are returns."
            )
        else:
            notes.append(
                f"{path.name}: no order id starts with '{echo(prefix)}' (data.cancellation_prefix); no line is "
                "read as a cancellation."
            )
        returns |= cancels
    flipped = returns & (amount > 0)
    if flipped.any():
        why = "a negative quantity or a cancelling order id" if prefix is not None else "a negative quantity"
        notes.append(
            f"{path.name}: {int(flipped.sum())} line(s) with {why} but a positive "
            f"{'quantity x unit_price' if derive else 'amount'} count as returns (negative amounts)."
        )
    out = frame.copy(deep=False)
    out["amount"] = np.where(flipped, -amount, amount)
    return out


def read_table(
    path: Path, table: str, config: DataConfig, notes: list[str], parsed: Callable[[], None] | None = None
) -> pd.DataFrame:
    """Read one table file and return it typed and validated (a new frame); `parsed` is called once the
    file is parsed, before the typing."""
    # the parsed frame goes straight into clean_table, which lets each column's text go once it is typed (a
    # name held here would keep all of it until the end)
    notes.extend(note for note in layout_notes(path, config) if note not in notes)  # one file, two tables
    read = partial(
        read_raw, path, config.encoding, delimiter=config.delimiter, header=config.header, notes=notes
    )
    with rows_numbered_from(first_data_row(path, config)):
        frame = clean_table(_then(read(), parsed), path, table, config, notes)
    release_arrow_memory()  # the raw text and the typing's scratch columns
    return frame


def _then(raw: pd.DataFrame, parsed: Callable[[], None] | None) -> pd.DataFrame:
    if parsed is not None:
        parsed()
    return raw


def release_arrow_memory() -> None:
    """Hand the memory Arrow freed back to the system. Arrow's allocator keeps freed blocks for reuse, so
    without this a file's read buffers and scratch columns stay resident while the next stage allocates
    its own memory elsewhere (numpy), and the peak grows by their size."""
    pa.default_memory_pool().release_unused()


def clean_table(
    raw: pd.DataFrame,
    path: Path,
    table: str,
    config: DataConfig,
    notes: list[str],
    plan: ReadPlan | None = None,
    categories: bool = True,
    keep_unnamed: bool = False,
) -> pd.DataFrame:
    """Map, type and validate a table as read (the whole file, or one partition of a partitioned one).

    `plan` holds the conventions decided for the whole table (`plan_table`); without one they are decided
    from `raw` itself — right for a whole file, and for a partition only if it is representative.
    `categories` stores the events' account ids and text columns as categories (`_event_categories`);
    partitions of one table keep them as text, since each partition would have categories of its own.
    `keep_unnamed` keeps an events table's rows without an account id (under `data.blank_ids: drop`) with
    an empty id, neither left out nor refused for being most of the rows: one partition cannot tell, so
    the caller counts them over the whole table (`dask_engine.load`).
    """
    spec = TABLES[table]
    mapping = column_map(raw.columns, table, config, path, notes)
    interrupt.check()
    if config.row_ids and table in ROW_ID_TABLES and ID not in mapping and ID not in raw.columns:
        raw = _with_row_ids(raw, path, notes)
    frame = _map_columns(raw, spec, mapping, path, notes)
    del raw  # from here `frame` holds the file's text alone: each column's text is freed once it is typed
    frame, unnamed = _clean_ids(
        frame, path, table, mapping.get(ID), config.blank_ids, share_limit=not keep_unnamed
    )
    release_arrow_memory()  # the ids as read
    line_items = table == "transactions" and "amount" not in frame.columns  # amount = quantity x unit_price
    # dates and numbers are read from each column's distinct values (a few thousand days for millions of
    # events), then spread back to the rows; a refused value is refused from the whole column, by row
    distinct = {
        column: Distinct.of(frame[column])
        for column in (*spec.dates, *spec.numbers)
        if column in frame.columns and _is_text(frame[column]) and _repeats(frame[column])
    }
    if plan is None:
        plan = _by_value(
            lambda found: _plan(frame, spec, path, config, found, distinct),
            lambda: _plan(frame, spec, path, config, notes),
            notes,
        )
    for column in spec.dates:
        interrupt.check()
        if column in frame.columns:
            read = partial(
                parse_dates,
                fmt=config.date_format,
                path=path,
                column=column,
                table=table,
                required=column in spec.required,
                dayfirst=plan.dayfirst.get(column),
                source=mapping.get(column),
            )
            frame[column] = _parse_by_value(frame[column], distinct.pop(column, None), read, notes)
            release_arrow_memory()  # the column's text
    for column in spec.numbers:
        interrupt.check()
        if column in frame.columns:
            read = partial(
                parse_numbers,
                path=path,
                column=column,
                table=table,
                required=column in spec.required or (line_items and column in LINE_ITEM_COLUMNS),
                decimal=plan.decimal.get(column, "." if config.decimal == "auto" else config.decimal),
                source=mapping.get(column),
            )
            frame[column] = _parse_by_value(frame[column], distinct.pop(column, None), read, notes)
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
        frame = _profile_columns(_without_outcomes(frame, path, config, notes), path, notes)
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
                frame[column] = _strip(frame[column]).fillna("").astype(str)
        if table == "transactions":
            frame = _line_amounts(frame, path, config, notes)
        if unnamed is not None and keep_unnamed:
            frame.loc[unnamed, ID] = ""
        elif unnamed is not None:
            frame = _without_unnamed(frame, unnamed, path, notes)
        interrupt.check()
        if categories:
            frame = _event_categories(frame, spec)
        interrupt.check()
        frame = _sorted_events(frame, path, config.duplicate_rows, notes)
    return frame


def _event_categories(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """The events' account ids and text columns (kind, product, order, contact and role) as categories.

    Millions of events repeat a few values (kinds, roles) or a few per account (ids, contacts, orders):
    each distinct value is stored once, beside a small integer code per row. That is a fraction of the
    text's memory, the sort into date order moves codes, not text, and the feature builders read the
    codes (`account_codes`, `factorize_text`) instead of hashing every row's text again. The ids'
    categories are sorted, so their codes sort as the ids do; other categories keep the order in which
    the values first appear (no sort of millions of distinct contact or order ids).
    """
    frame = frame.copy(deep=False)
    frame[ID] = frame[ID].astype("category")
    release_arrow_memory()  # the ids' text
    for column in spec.columns:
        if column == ID or column in spec.dates or column in spec.numbers or column not in frame.columns:
            continue
        text = frame[column]
        codes, values = pd.factorize(text if pd.api.types.is_string_dtype(text) else text.astype(str))
        frame[column] = pd.Categorical.from_codes(codes, pd.Index(values), validate=False)
        del text, codes
        release_arrow_memory()  # the column's text, before the next one is encoded
    return frame


def check_purchases(transactions: pd.DataFrame, path: Path) -> None:
    """Refuse a transactions table without a single positive amount: there is nothing to learn from.

    Called on the whole table (never on a partition: one partition of refunds is normal).
    """
    amounts = transactions["amount"].to_numpy(dtype=float, na_value=np.nan)
    if len(amounts) and not (amounts > 0).any():
        zero, negative = int((amounts == 0).sum()), int((amounts < 0).sum())
        raise InputError(
            f"{Path(path).name}: column 'amount' has no positive value in {len(amounts):,} row(s) "
            f"({zero:,} zero, {negative:,} negative); potential learns from purchases, which need positive "
            "amounts (refunds negative) — map the column holding the purchase amounts with "
            "data.columns.transactions.amount, or flip the sign if your system writes sales as negative numbers."
        )


def _distinct_ids(ids: pd.Series) -> np.ndarray:
    """The distinct ids of a column, sorted (Python string order), as an object array."""
    return np.sort(pd.unique(ids).astype(object).astype(str))


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
    check_mapped_tables(folder, config)
    sources = table_sources(folder, config)
    if "transactions" not in sources and not ("accounts" in sources and "labels" in sources):
        raise no_tables_error(folder)
    check_row_ids(sources, config)
    frames, digests, notes = _read_tables(sources, config)
    return assemble_dataset(frames, {t: p.name for t, p in sources.items()}, notes, sources, digests)


def table_sources(folder: Path, config: DataConfig) -> dict[str, Path]:
    """The file (or folder of parts) of each table that `folder` holds, under data.tables' names."""
    return {table: path for table in TABLES if (path := find_table(folder, config.tables.get(table, table)))}


def check_mapped_tables(folder: Path, config: DataConfig) -> None:
    """Refuse a data.tables entry whose file is not in `folder`: the table would be left out without a word
    (or, for accounts, the folder's accounts.csv passed over)."""
    for table, stem in config.tables.items():
        if find_table(folder, stem) is None:
            files = sorted(p.name for p in folder.iterdir())
            stems = [t for name in files if (t := table_stem(name)) is not None] + files
            raise InputError(
                f"{folder}: data.tables.{table} names '{echo(stem)}', but there is no {echo(stem)}.csv (or "
                f".parquet, .tsv, .txt, .csv.gz, or a {echo(stem)}/ folder of parts) there{_hint(stem, stems)}; "
                f"found: {_list(files) or 'no files'}. Fix the name in the config or in the folder."
            )


def no_tables_error(folder: Path) -> InputError:
    """The refusal of a folder with neither transactions nor accounts + labels: what is there, and the
    data.tables entry that would read its first table file as the transactions."""
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    tables = [(name, stem) for name in files if (stem := table_stem(name)) is not None]
    example = ""
    if tables:
        name, stem = tables[0]
        example = f" (e.g. data.tables: {{transactions: {stem}}} reads {name} as the transactions)"
    return InputError(
        f"{folder}: no transactions table (found: {', '.join(files) or 'no files'}); provide transactions.csv "
        "(account_id, date, amount) or a transactions/ folder of parts, or accounts.csv + labels.csv, or map "
        f"file names with data.tables{example}."
    )


def _read_tables(
    sources: dict[str, Path], config: DataConfig
) -> tuple[dict[str, pd.DataFrame], dict[str, str], list[str]]:
    """Each table read and validated (`read_table`) in this thread, while another computes the digest of
    its file: hashing waits on no lock, and once a CSV is parsed (on every core) its typing uses one core,
    so each digest starts when its file's parse ends.

    (Reading two tables at once was faster still, but the memory freed in a second thread's allocator
    arenas stayed with the process: a peak 3.1-3.5x the input at 100k accounts, against 2.9x.)
    """
    notes: list[str] = []
    frames: dict[str, pd.DataFrame] = {}
    hashes: dict[str, Future[str]] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="potential-digest") as pool:
        try:
            for table, path in sources.items():

                def digest(table: str = table, path: Path = path) -> None:
                    hashes[table] = pool.submit(file_digest, path)

                frames[table] = read_table(path, table, config, notes, parsed=digest)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return frames, {table: digest.result() for table, digest in hashes.items()}, notes


def unread_columns(table: str, columns: Sequence[object]) -> tuple[str, ...]:
    """The columns of a read transactions, activities or labels table that are not among the table's
    columns (`TABLES`), under the file's own names: what a column map could still put to use. Every column
    of accounts is read (a profile attribute)."""
    if table == "accounts":
        return ()
    spec = TABLES[table]
    known = set(spec.columns)
    return tuple(str(column) for column in columns if column not in known)


def unplaced_labels_note(labels: pd.DataFrame | None, name: str, has_transactions: bool) -> list[str]:
    """The note for a labels table beside transactions that has no as_of: its outcomes cannot be placed at
    a cutoff, so the labels derived from the transactions are used instead (`apply_label_overrides`)."""
    if labels is None or not has_transactions or "as_of" in labels.columns:
        return []
    return [
        f"{name}: not used: without an as_of column its outcomes cannot be placed in time beside the "
        "transactions, so the churn and expansion labels are derived from the transactions at each cutoff. "
        "To override them, give each row the cutoff its outcome window starts at (as_of)."
    ]


def assemble_dataset(
    frames: dict[str, pd.DataFrame],
    names: dict[str, str],
    notes: list[str],
    sources: dict[str, Path] | None = None,
    digests: dict[str, str] | None = None,
) -> Dataset:
    """The dataset from validated tables: the accounts table completed with every id the other tables name
    (noted), sorted by id, prospects counted. `names` says how to call each table in notes (its file)."""
    transactions = frames.get("transactions")
    if transactions is not None:
        check_purchases(transactions, Path(names["transactions"]))
    accounts = frames.get("accounts")
    # distinct ids per table, compared as sorted arrays (never a Python loop over millions of rows)
    distinct = {table: _distinct_ids(frame[ID]) for table, frame in frames.items()}
    if accounts is None:
        ids = distinct["transactions"] if transactions is not None else distinct["labels"]
        accounts = pd.DataFrame({ID: pd.array(ids, dtype="str")})
    else:
        known = distinct["accounts"]
        extra_ids = np.array([], dtype=object)
        for table in ("transactions", "activities", "labels"):
            if table in frames:
                missing = np.setdiff1d(distinct[table], known, assume_unique=True)
                if len(missing):
                    notes.append(
                        f"{names[table]}: {len(missing)} account id(s) not in accounts "
                        f"(e.g. {', '.join(echo(m, 40) for m in missing[:3])}); kept with an empty profile."
                    )
                    extra_ids = np.union1d(extra_ids, missing)
        if len(extra_ids):
            accounts = pd.concat(
                [accounts, pd.DataFrame({ID: pd.array(extra_ids, dtype="str")})], ignore_index=True
            )
    accounts = accounts.sort_values(ID, kind="mergesort").reset_index(drop=True)
    if transactions is not None:
        no_tx = len(np.setdiff1d(_distinct_ids(accounts[ID]), distinct["transactions"], assume_unique=True))
        if no_tx:
            notes.append(f"{no_tx} account(s) have no transactions; they are scored as prospects.")
    notes += unplaced_labels_note(
        frames.get("labels"), names.get("labels", "labels"), transactions is not None
    )
    return Dataset(
        accounts=accounts,
        transactions=transactions,
        activities=frames.get("activities"),
        labels=frames.get("labels"),
        sources=sources or {},
        digests=digests or {},
        notes=tuple(notes),
    )
