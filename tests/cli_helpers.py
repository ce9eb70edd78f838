"""Run the CLI in-process (fast) and capture exit code and output."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path


def exit_code(args: list[object] | tuple[object, ...]) -> int:
    """Run `potential <args>` in this process; its exit code."""
    from potential.app.cli import main

    old = sys.argv
    sys.argv = ["potential", *map(str, args)]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    return code


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = exit_code(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli_ok(*args: object) -> None:
    """Run `potential <args>` in this process and assert it succeeded (for fixtures without capsys)."""
    assert exit_code(args) == 0, args


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under folder (to prove nothing changed)."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
