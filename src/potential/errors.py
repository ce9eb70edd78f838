"""Errors users can act on. Anything raised as a `PotentialError` exits with code 2 and one message."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path


class PotentialError(Exception):
    """Base class: a problem with the user's input, config or environment (exit code 2)."""


class InputError(PotentialError):
    """A data file is missing, unreadable or breaks the table contract."""


class ConfigError(PotentialError):
    """The config or the rating profile is invalid."""


class InsufficientDataError(PotentialError):
    """Too little data to train a target honestly."""


def example_rows(index: Iterable[int], limit: int = 3) -> str:
    """Human row numbers (1 = first data row after the header) of the first offending rows."""
    rows = [str(int(i) + 2) for i in list(index)[:limit]]
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
            shown = ", ".join(repr(str(e)) for e in list(examples)[:3])
            text += f", e.g. {shown}"
        text += ")"
    text += f"; {fix}"
    return InputError(text)
