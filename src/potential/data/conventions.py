"""How a file writes numbers, dates and text: decided once per column (or file) from its values, then applied.

A cell on its own cannot say whether `1,234` is one thousand or one point two, or whether `03/04/2026` is
March or April. The whole column usually can: one `5764,76` settles the decimal comma, one `31/01/2026`
settles day-first. So each convention is decided from the whole column (`decide_*`), stated in a note,
and then applied (`parse_*`); a column that does not settle it is refused with the config key that does.
The decisions are plain values, so an engine that reads a table in partitions decides once (from the
whole table or a sample) and applies the same decision to every partition.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from potential.errors import InputError, echo, table_error

# Amounts beyond this are not money from a B2B ledger but a broken export (1e308 overflows to infinity in
# the first sum). Applies to every number column; documented in docs/data-conventions.md.
MAX_ABS_NUMBER = 1e15

# --------------------------------------------------------------------------------------------- numbers
_SIGN = r"[+-]?"
# grouped with spaces (French, Swiss): '1 234,56', '1 234 567', "1'234.50"; the spaces are dropped first
_SPACE_GROUPED = _SIGN + r"\d{1,3}(?:[ \u00a0\u202f']\d{3})+(?:[.,]\d+)?"
_SPACE_CHARS = r"[ \u00a0\u202f']"
# a single separator followed by exactly three digits after 1-3 leading digits: '1,234' or '1.234'
_AMBIGUOUS = _SIGN + r"[1-9]\d{0,2}[.,]\d{3}"
_POINT_EVIDENCE = (
    _SIGN + r"\d*\.\d+",  # '12.5', '0.125', '1234.567' (the ambiguous '1.234' is taken out below)
    _SIGN + r"(?:\d{1,3}(?:,\d{3})+|\d{1,2}(?:,\d{2})+,\d{3})\.\d*",  # '1,234.56', '12,34,567.00' (lakh)
    _SIGN + r"(?:\d{1,3}(?:,\d{3}){2,}|\d{1,2}(?:,\d{2})+,\d{3})",  # '1,234,567'
)
_COMMA_EVIDENCE = (
    _SIGN + r"\d*,\d+",  # '5764,76', '0,5', '1234,567'
    _SIGN + r"\d{1,3}(?:\.\d{3})+,\d*",  # '1.234,56'
    _SIGN + r"\d{1,3}(?:\.\d{3}){2,}",  # '1.234.567'
)
_POINT_GROUPED = _SIGN + r"(?:\d{1,3}(?:,\d{3})+|\d{1,2}(?:,\d{2})+,\d{3})(?:\.\d*)?"
_COMMA_GROUPED = _SIGN + r"\d{1,3}(?:\.\d{3})+(?:,\d*)?"
_COMMA_PLAIN = _SIGN + r"\d*,\d+|" + _SIGN + r"\d+,"
# the values most columns hold only: read in one columnar pass, the patterns above run on the rest
_PLAIN_INTEGER = r"(?:[+-]?\d+)"  # says nothing about the separator
_PLAIN_DECIMAL = r"(?:[+-]?\d*\.\d+)"  # decimal point evidence (unless ambiguous, like '1.234')
_CASTABLE = {".": r"(?:-?\d+(?:\.\d+)?)", ",": r"(?:-?\d+)"}  # same number for Arrow's cast as for pandas


def _text(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip()


def _full(text: pd.Series, pattern: str) -> np.ndarray:
    return text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)


def _has(text: pd.Series, pattern: str, regex: bool = True) -> np.ndarray:
    return text.str.contains(pattern, regex=regex).fillna(False).to_numpy(dtype=bool)


def _ungroup_spaces(text: pd.Series) -> pd.Series:
    maybe = np.zeros(len(text), dtype=bool)
    for char in " \u00a0\u202f'":  # four plain searches: a character-class regex is ten times slower
        maybe |= _has(text, char, regex=False)
    if not maybe.any():
        return text
    spaced = np.zeros(len(text), dtype=bool)
    spaced[maybe] = _full(text[maybe], _SPACE_GROUPED)
    out = text.copy()
    out[spaced] = text[spaced].str.replace(_SPACE_CHARS, "", regex=True)
    return out


def separator_evidence(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per value: (says decimal point, says decimal comma, could be either) — e.g. '1,234.5', '5764,76', '1,234'.

    Plain integers ('1234') and plain decimals ('12.5') are classified by two columnar matches; the full set
    of patterns runs only on the other values (grouped, comma or spaced numbers, text).
    """
    text = _text(series)
    point, comma, ambiguous = (np.zeros(len(text), dtype=bool) for _ in range(3))
    decimal = _full(text, _PLAIN_DECIMAL)
    if decimal.any():
        amb = _ambiguous(text[decimal])
        point[decimal], ambiguous[decimal] = ~amb, amb
    rest = ~decimal & text.notna().to_numpy(dtype=bool)
    if rest.any():
        rest[rest] = ~_full(text[rest], _PLAIN_INTEGER)
    if rest.any():
        point[rest], comma[rest], ambiguous[rest] = _separator_evidence(text[rest])
    return point, comma, ambiguous


def _ambiguous(text: pd.Series) -> np.ndarray:
    """Values like '1,234' or '1.234' (_AMBIGUOUS); only those with a separator before their last three
    characters can be, so the pattern runs on those alone (most amounts have two decimals)."""
    out = np.zeros(len(text), dtype=bool)
    fourth_last = text.str.slice(-4, -3)
    maybe = ((fourth_last == ".") | (fourth_last == ",")).fillna(False).to_numpy(dtype=bool)
    if maybe.any():
        out[maybe] = _full(text[maybe], _AMBIGUOUS)
    return out


def _separator_evidence(text: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    text = _ungroup_spaces(text)
    point, comma, ambiguous = (np.zeros(len(text), dtype=bool) for _ in range(3))
    where = np.flatnonzero(_has(text, r"[.,]"))
    if not len(where):
        return point, comma, ambiguous
    sub = text.iloc[where]  # only values with a separator can say anything (most columns: few or none)
    amb = _ambiguous(sub)
    p = _full(sub, _POINT_EVIDENCE[0])
    c = np.zeros(len(sub), dtype=bool)
    with_comma = _has(sub, ",", regex=False)
    if with_comma.any():
        part = sub[with_comma]
        p[with_comma] |= _full(part, _POINT_EVIDENCE[1]) | _full(part, _POINT_EVIDENCE[2])
        c[with_comma] |= _full(part, _COMMA_EVIDENCE[0]) | _full(part, _COMMA_EVIDENCE[1])
    dots = _has(sub, r"\..*\.")
    if dots.any():
        c[dots] |= _full(sub[dots], _COMMA_EVIDENCE[2])
    point[where], comma[where], ambiguous[where] = p & ~amb, c & ~amb, amb
    return point, comma, ambiguous


def plan_decimals(
    columns: dict[str, pd.Series], path: Path, table: str, configured: str, notes: list[str]
) -> dict[str, str]:
    """The decimal separator of each text number column of one table, decided for the whole column.

    A column whose values say nothing (only integers and values like '1,234') takes the convention the
    table's other number columns settle; if none does and such values exist, it is refused.
    """
    if configured != "auto":
        return {column: configured for column in columns}
    name = path.name
    evidence = {column: separator_evidence(series) for column, series in columns.items()}
    decided: dict[str, str] = {}
    for column, (point, comma, _ambiguous) in evidence.items():
        if point.any() and comma.any():
            rows = sorted([int(np.flatnonzero(point)[0]), int(np.flatnonzero(comma)[0])])
            values = columns[column].to_numpy()
            raise table_error(
                path,
                f"column '{column}' mixes a decimal point and a decimal comma",
                "each column needs one convention; fix the rows that differ, or set data.decimal to '.' or ',' "
                "in the config to say which one the file uses.",
                rows,
                [values[r] for r in rows],
            )
        if comma.any():
            decided[column] = ","
        elif point.any():
            decided[column] = "."
    settled = set(decided.values())
    for column, (_point, _comma, ambiguous) in evidence.items():
        if column in decided:
            continue
        if not ambiguous.any():
            decided[column] = "."
            continue
        rows = np.flatnonzero(ambiguous)
        values = columns[column].to_numpy()
        if len(settled) == 1:
            sep = next(iter(settled))
            by = next(c for c, s in decided.items() if s == sep)
            decided[column] = sep
            notes.append(
                f"{name}: column '{column}' has values like '{echo(values[rows[0]])}' that could use either "
                f"separator; read with the decimal {_word(sep)} that column '{by}' uses."
            )
            continue
        raise table_error(
            path,
            f"column '{column}' has {len(rows)} value(s) where the separator could mean thousands or decimals "
            "(1,234 = 1234 or 1.234?) and no value in the column settles which",
            "set data.decimal in the config: '.' if the file writes 1,234.56 (comma = thousands), "
            "',' if it writes 1.234,56 (comma = decimals).",
            rows,
            values[rows],
        )
    for column, sep in decided.items():
        point, comma, _ambiguous = evidence[column]
        values = columns[column]
        if sep == "," and comma.any():
            example = str(values.iloc[np.flatnonzero(comma)[0]]).strip()
            notes.append(
                f"{name}: column '{column}' uses a decimal comma (e.g. '{echo(example)}'); read as "
                f"{_format(parse_number_text(pd.Series([example]), ',').iloc[0])}."
            )
        elif sep == "." and _has_grouping(columns[column]):
            example = str(values.iloc[np.flatnonzero(_grouped_mask(columns[column]))[0]]).strip()
            notes.append(
                f"{name}: column '{column}' uses a decimal point with thousands separators "
                f"(e.g. '{echo(example)}'); read as {_format(parse_number_text(pd.Series([example]), '.').iloc[0])}."
            )
    return decided


def _grouped_mask(series: pd.Series) -> np.ndarray:
    text = _text(series)
    comma = _has(text, ",", regex=False)  # a thousands comma, or nothing is grouped
    out = np.zeros(len(text), dtype=bool)
    if comma.any():
        out[comma] = _full(_ungroup_spaces(text[comma]), _POINT_GROUPED)
    return out


def _has_grouping(series: pd.Series) -> bool:
    return bool(_grouped_mask(series).any())


def _word(sep: str) -> str:
    return "comma" if sep == "," else "point"


def _format(value: float) -> str:
    return "nothing" if pd.isna(value) else f"{value:.10g}" if abs(value) < 1e10 else f"{value:.6g}"


def parse_number_text(series: pd.Series, decimal: str) -> pd.Series:
    """Floats from number text written with `decimal` ('.' or ','); NaN where a value is not a number.

    Thousands separators are accepted only in valid groups ('1,234,567.5', '1.234.567,5', '1 234,5');
    anything else with a separator in the wrong place ('12,34.5') is not a number, never a guess.
    Plain values ('-12.5', '1234') are cast in one columnar pass; the rules above apply to the others.
    """
    text = _text(series)
    plain = _full(text, _CASTABLE[decimal])
    if not plain.any():
        return _parse_number_text(text, decimal, series.index)
    values = np.full(len(text), np.nan)
    values[plain] = pc.cast(pa.array(text[plain], type=pa.string()), pa.float64()).to_numpy(
        zero_copy_only=False
    )
    rest = ~plain & text.notna().to_numpy(dtype=bool)
    if rest.any():
        values[rest] = _parse_number_text(text[rest], decimal, text.index[rest]).to_numpy()
    return pd.Series(values, index=series.index)


def _parse_number_text(text: pd.Series, decimal: str, index: pd.Index) -> pd.Series:
    text = _ungroup_spaces(text)
    out = text.copy()
    if decimal == ".":
        with_comma = _has(text, ",", regex=False)
        grouped = np.zeros(len(text), dtype=bool)
        if with_comma.any():
            grouped[with_comma] = _full(text[with_comma], _POINT_GROUPED)
            out[grouped] = text[grouped].str.replace(",", "", regex=False)
        stray = with_comma & ~grouped
    else:
        with_sep = _has(text, r"[.,]")
        grouped, plain = np.zeros(len(text), dtype=bool), np.zeros(len(text), dtype=bool)
        if with_sep.any():
            grouped[with_sep] = _full(text[with_sep], _COMMA_GROUPED)
            plain[with_sep] = _full(text[with_sep], _COMMA_PLAIN)
            plain &= ~grouped
            out[grouped] = text[grouped].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
            out[plain] = text[plain].str.replace(",", ".", regex=False)
        stray = with_sep & ~grouped & ~plain
    out[stray] = pd.NA
    return pd.Series(to_numbers(out).to_numpy(), index=index)


def to_numbers(text: pd.Series) -> pd.Series:
    """`pd.to_numeric(text, errors='coerce')` as floats, run only on values that can be numbers: those with a
    digit, or an infinity ('inf', '-Infinity'); every other value (words, codes without digits) is NaN."""
    values = np.full(len(text), np.nan)
    maybe = _has(text, r"\d") | _has(text, r"(?i)inf")
    if maybe.any():
        parsed = pd.to_numeric(text[maybe], errors="coerce")
        values[maybe] = parsed.to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(values, index=text.index)


def iso_days(text: pd.Series) -> np.ndarray:
    """datetime64[ns] of the values written YYYY-MM-DD with a year 1900-2199, NaT for every other value.

    One columnar cast for the common case; a column with an impossible day ('2023-02-30') gets NaT
    everywhere, so the caller's full parser (and its error) sees every value.
    """
    out = np.full(len(text), np.datetime64("NaT", "ns"))
    day = _full(text, r"(?:19|20|21)\d{2}-\d{2}-\d{2}")
    if day.any():
        try:
            parsed = pc.cast(pa.array(text[day], type=pa.string()), pa.timestamp("s"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return out
        out[day] = parsed.to_numpy(zero_copy_only=False).astype("datetime64[ns]")
    return out


# ----------------------------------------------------------------------------------------------- dates
# d/m/y or m/d/y with '/', '.' or '-', a 2- or 4-digit year, an optional time: '31/01/2026', '1.2.26 14:30'
_NUMERIC_DATE = r"(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})(?:[ T]([0-9:.,+\-ZAPMapm ]*))?"


def _numeric_dates(text: pd.Series) -> pd.DataFrame:
    parts = text.str.extract("^" + _NUMERIC_DATE + "$")
    parts.columns = ["a", "b", "year", "time"]
    return parts


def date_order_evidence(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per value: (only valid day-first, only valid month-first, valid either way and different)."""
    parts = _numeric_dates(_text(series))
    a = pd.to_numeric(parts["a"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    b = pd.to_numeric(parts["b"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        a_month, b_month = (a >= 1) & (a <= 12), (b >= 1) & (b <= 12)
        a_day, b_day = (a >= 13) & (a <= 31), (b >= 13) & (b <= 31)
    return a_day & b_month, a_month & b_day, a_month & b_month & (a != b)


def _order_formats(value: str, first: str, second: str) -> tuple[str, str, str, str]:
    """(day-first format, month-first format, an example date of each) written as `value` is written: its
    separator, year width and time of day, so the suggested data.date_format reads the column as it is.
    The examples put `first` then `second` (day-first) and the reverse (month-first), like 31/01/2026."""
    match = re.fullmatch(_NUMERIC_DATE, value.strip())
    sep, year, clock, example_clock = "/", "%Y", "", ""
    if match:
        sep = value.strip()[match.end(1)]
        year = "%Y" if len(match.group(3)) == 4 else "%y"
        time = (match.group(4) or "").strip()
        for pattern, fmt, shown in (
            (r"\d{1,2}:\d{2}", "%H:%M", "14:30"),
            (r"\d{1,2}:\d{2}:\d{2}", "%H:%M:%S", "14:30:00"),
        ):
            if re.fullmatch(pattern, time):
                joint = value.strip()[match.end(3)]  # ' ' or 'T'
                clock, example_clock = f"{joint}{fmt}", f"{joint}{shown}"
    y = "2026" if year == "%Y" else "26"
    return (
        f"%d{sep}%m{sep}{year}{clock}",
        f"%m{sep}%d{sep}{year}{clock}",
        f"{first}{sep}{second}{sep}{y}{example_clock}",
        f"{second}{sep}{first}{sep}{y}{example_clock}",
    )


def decide_date_order(series: pd.Series, path: Path, column: str) -> bool | None:
    """True (day first), False (month first) or None (no d/m/y values, or none that the order changes).

    Raises InputError when the column holds both orders, or only values that read either way.
    """
    day_first, month_first, ambiguous = date_order_evidence(series)
    values = series.to_numpy()
    if day_first.any() and month_first.any():
        rows = sorted([int(np.flatnonzero(day_first)[0]), int(np.flatnonzero(month_first)[0])])
        raise table_error(
            path,
            f"column '{column}' mixes day-first and month-first dates",
            "one column needs one order; fix the rows that differ, or set data.date_format in the config "
            "(e.g. '{0}' for {2}, '{1}' for {3}).".format(*_order_formats(str(values[rows[0]]), "31", "01")),
            rows,
            [values[r] for r in rows],
        )
    if day_first.any():
        return True
    if month_first.any():
        return False
    if ambiguous.any():
        rows = np.flatnonzero(ambiguous)
        raise table_error(
            path,
            f"column '{column}' has {len(rows)} date(s) that read day-first or month-first "
            "(no day above 12 settles which)",
            "set data.date_format in the config: '{0}' if {2} is 3 April, '{1}' if it is 4 March.".format(
                *_order_formats(str(values[rows[0]]), "03", "04")
            ),
            rows,
            values[rows],
        )
    return None


def date_order_note(series: pd.Series, path: Path, column: str, dayfirst: bool) -> str:
    day_first, month_first, _ambiguous = date_order_evidence(series)
    mask = day_first if dayfirst else month_first
    example = echo(str(series.to_numpy()[np.flatnonzero(mask)[0]]).strip())
    order = "day/month/year" if dayfirst else "month/day/year"
    kind = "day-first" if dayfirst else "month-first"
    return f"{path.name}: column '{column}' has {kind} dates (e.g. '{example}'); read as {order}."


def parse_numeric_dates(text: pd.Series, dayfirst: bool) -> pd.Series:
    """Timestamps for d/m/y (or m/d/y) values in the decided order, as UTC; NaT where a value is not one."""
    parts = _numeric_dates(text)
    matched = parts["a"].notna().to_numpy()
    if not matched.any():
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    p = parts[matched]
    day, month = (p["a"], p["b"]) if dayfirst else (p["b"], p["a"])
    year = p["year"].astype("string")
    short = year.str.len() == 2
    # two-digit years as strptime reads them: 69-99 -> 19xx, 00-68 -> 20xx
    century = np.where(pd.to_numeric(year, errors="coerce") >= 69, "19", "20")
    year = year.where(~short, pd.Series(century, index=year.index).astype("string") + year)
    iso = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
    time = p["time"].astype("string").fillna("").str.strip()
    iso = iso.where(time == "", iso + " " + time)
    parsed = pd.to_datetime(iso, format="ISO8601", errors="coerce", utc=True)
    retry = parsed.isna().to_numpy() & (time != "").to_numpy()
    if retry.any():  # times ISO cannot read, like '2:30 PM': the date part is already in order
        parsed = parsed.copy()
        parsed[retry] = pd.to_datetime(iso[retry], format="mixed", errors="coerce", utc=True)
    # in the parsed values' own unit: a year such as 0001 is outside nanoseconds, and the caller refuses
    # it by row (outside 1900-2200) instead of overflowing here
    out = pd.Series(pd.NaT, index=text.index, dtype=parsed.dtype)
    out[matched] = parsed.to_numpy()
    return out


# -------------------------------------------------------------------------------------------- encoding
DELIMITERS = (",", ";", "\t", "|")
# data.delimiter: whitespace -- columns aligned with runs of spaces (or tabs), as fixed-width text exports
# and older data sets are written; leading spaces on a line do not make an empty first column
WHITESPACE = r"\s+"
# the names of a file's columns when it has no header line (data.header), counted from 1 like its rows
POSITIONAL = "column_{}"
# cells that are data, not a column's name: a number ('00001', '-12.50', '1,234') or a date with digits
# only ('19970101' is a number, '2024-01-05', '05/01/2024 14:30', '2024-01-05T10:00:00Z')
_DATA_CELL = re.compile(
    r"[+-]?[\d.,]*\d[\d.,]*%?|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T][\d:.]+(?:Z|[+-][\d:]+)?)?"
)
_YEAR = re.compile(r"(?:19|20)\d\d")


def first_line(path: Path, encoding: str = "auto") -> str:
    """The first line of a CSV file (plain or .gz), '' when it cannot be read (the reader says why)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding=codec_for(encoding), errors="replace", newline="") as handle:
            return handle.readline(1 << 16)
    except (OSError, EOFError, LookupError):
        return ""


def csv_delimiter(line: str, suffix: str = ".csv", setting: str = "auto") -> str:
    """The column delimiter of a CSV file whose first line is `line`: `setting` (data.delimiter) unless it
    is 'auto'; then tab for a .tsv file, else the most frequent of DELIMITERS in the line outside double
    quotes (the comma on a tie). A first line with none of them but words or numbers apart is aligned with
    spaces (WHITESPACE); with neither the file has one column. European spreadsheets write ';' beside a
    decimal comma.
    """
    if setting == "whitespace":
        return WHITESPACE
    if setting != "auto":
        return setting
    if suffix == ".tsv":
        return "\t"
    unquoted = re.sub(r'"[^"]*("|$)', "", line)
    counts = {delimiter: unquoted.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=counts.__getitem__)  # the first (the comma) of equal counts
    if counts[best]:
        return best
    return WHITESPACE if len(line.split()) > 1 else ","


def line_cells(line: str, delimiter: str) -> list[str]:
    """One line's cells split at `delimiter` as a CSV reader splits them (quotes hold delimiters)."""
    if delimiter == WHITESPACE:
        return line.split()
    return next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])


def is_data_cell(cell: str) -> bool:
    """True for a number or a date written with digits: a value, not a column's name (which has letters)."""
    return _DATA_CELL.fullmatch(cell.strip()) is not None


def is_data_line(cells: list[str]) -> bool:
    """True when a first line holds data, not column names: one of its cells is a number or a date written
    with digits (a name has letters). A bare year is not enough: a wide export may name columns 2024, 2025.
    """
    return any(is_data_cell(cell) and not _YEAR.fullmatch(cell.strip()) for cell in cells)


def csv_header(
    line: str,
    delimiter: str,
    setting: bool | str = "auto",
    names: Callable[[str], bool] = lambda cell: False,
) -> bool:
    """Whether a CSV file's first line, `line`, names its columns: `setting` (data.header) unless it is
    'auto'; then yes when one of its cells is one of our column `names` (account_id beside product codes
    10001, 10002), else unless one of them is a number or a date (`is_data_line`)."""
    if isinstance(setting, bool):
        return setting
    cells = line_cells(line, delimiter)
    return any(map(names, cells)) or not is_data_line(cells)


def positional_names(count: int) -> list[str]:
    """The names of a file's columns without a header line: column_1, column_2, ..."""
    return [POSITIONAL.format(i + 1) for i in range(count)]


def delimiter_name(delimiter: str) -> str:
    """How a note or message shows a delimiter (a tab is invisible)."""
    return {"\t": "tab", WHITESPACE: "spaces"}.get(delimiter, f"'{delimiter}'")


def delimiter_setting(delimiter: str) -> str:
    """The delimiter as a YAML value for data.delimiter (a tab in double quotes, where YAML reads \\t as one)."""
    return {"\t": '"\\t"', WHITESPACE: "whitespace"}.get(delimiter, f"'{delimiter}'")


def codec_for(encoding: str) -> str:
    """The codec to read CSV text with: 'auto' is UTF-8, and a byte-order mark is tolerated."""
    if encoding == "auto" or codecs.lookup(encoding).name == "utf-8":
        return "utf-8-sig"
    return encoding


def is_single_byte_compatible(codec: str) -> bool:
    """True when ASCII text is one byte a character in `codec` (so a NUL byte means binary, not text)."""
    try:
        return len("aa".encode(codec)) - len("a".encode(codec)) == 1  # a byte-order mark is not a character
    except (LookupError, UnicodeError):
        return False


def encoding_error(path: Path, encoding: str, codec: str) -> InputError:
    """Name the first line and byte of `path` that `codec` cannot decode, and the fix."""
    opener = gzip.open if path.name.endswith(".gz") else open
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    lines_before, previous, found = 0, b"", None
    with opener(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                # exc.object is the bytes the decoder held back from `previous` followed by `block`
                joined = previous + block
                offset = len(joined) - len(exc.object) + exc.start
                found = (joined, min(max(offset, 0), len(joined) - 1))
                break
            lines_before += previous.count(b"\n")
            previous = block
    if found is None:
        return InputError(f"{path.name}: cannot be decoded as {codec}; save the file as UTF-8 CSV.")
    joined, offset = found
    line = 1 + lines_before + joined[:offset].count(b"\n")
    start = joined.rfind(b"\n", 0, offset) + 1
    end = joined.find(b"\n", offset)
    context = joined[start : end if end >= 0 else len(joined)]
    at, bad = offset - start + 1, joined[offset : offset + 1]
    shown = echo(context.decode(codec, errors="replace"))
    label = "UTF-8" if codec == "utf-8-sig" else codec
    where = f"line {line} has byte 0x{bad.hex()} at position {at} ('{shown}')"
    if encoding == "auto":
        fix = (
            "save the file as UTF-8 (Excel: 'CSV UTF-8') or fix that line; if the whole file is in a legacy "
            "encoding, set data.encoding in the config (e.g. cp1252 for Windows Western European, latin-1)."
        )
    else:
        fix = "set data.encoding in the config to the file's encoding (auto = UTF-8), or fix that line."
    return InputError(f"{path.name}: is not valid {label} text: {where}; {fix}")
