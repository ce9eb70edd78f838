"""Errors users can act on. Anything raised as a `PotentialError` exits with code 2 and one message."""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path


class PotentialError(Exception):
    """Base class: a problem with the user's input, config or environment (exit code 2)."""


class InputError(PotentialError):
    """A data file is missing, unreadable or breaks the table contract."""


class ConfigError(PotentialError):
    """The config or the rating profile is invalid."""


class InsufficientDataError(PotentialError):
    """Too little data to train a target honestly."""


ECHO_LIMIT = 80


def echo(value: object, limit: int = ECHO_LIMIT) -> str:
    """User input as it may appear in a message: control characters made visible, at most `limit` characters.

    Every value a message repeats from a file or a config goes through here, so a 10 MB cell or a YAML
    bomb can never make the message itself the problem.
    """
    text = value if isinstance(value, str) else _bounded_repr(value)
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text[:limit])
    if len(text) > limit or len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return shown


def _bounded_repr(value: object) -> str:
    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxdict, short.maxtuple, short.maxset = 3, 4, 4, 4, 4
    short.maxstring, short.maxother, short.maxlong = 60, 60, 40
    return short.repr(value)


# the line of the file being read that holds its first row: 2 below a header line, 1 in a file without one
_FIRST_ROW: ContextVar[int] = ContextVar("first_row", default=2)


@contextmanager
def rows_numbered_from(first: int) -> Iterator[None]:
    """Number rows in messages from `first` (the line of the table's first row) while a table is read."""
    token = _FIRST_ROW.set(first)
    try:
        yield
    finally:
        _FIRST_ROW.reset(token)


def first_row_number() -> int:
    """The number messages give a table's first row (2 unless `rows_numbered_from` says otherwise)."""
    return _FIRST_ROW.get()


def example_rows(index: Iterable[int], limit: int = 3) -> str:
    """Human row numbers of the first offending rows (positions from 0), as a spreadsheet shows them: the
    header is row 1, or the first row is when the file has no header line (`rows_numbered_from`)."""
    first = _FIRST_ROW.get()
    rows = [str(int(i) + first) for i in list(index)[:limit]]
    return ", ".join(rows)


def table_error(
    path: Path | str,
    message: str,
    fix: str,
    rows: Sequence[int] | None = None,
    examples: Sequence[object] | None = None,
) -> InputError:
    """Build the one-line error the product prints: file, problem, rows, example values, fix."""
    name = Path(path).name
    text = f"{name}: {message}"
    if rows is not None and len(rows):
        text += f" (rows {example_rows(rows)}"
        if examples is not None and len(examples):
            shown = ", ".join(f"'{echo(str(e))}'" for e in list(examples)[:3])
            text += f", e.g. {shown}"
        text += ")"
    text += f"; {fix}"
    return InputError(text)
