"""Run every benchmark in this folder and rewrite BENCHMARKS.md with the figures (machine, date, tables).

    python benchmarks/run_all.py [--quick] [--only bench_engines ...]   # --only keeps the other sections

Each `bench_*.py` module exposes `main(...)` returning a list of row dicts; figures are ratios against a
reference measured in the same process, never assertions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import platform
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
QUICK = {
    "bench_accuracy": {"accounts": 1500, "customers": 5000, "profiles": 3000},
    "bench_backtest": {"accounts": 1500, "seeds": (42,)},
    "bench_classic": {"customers": 2000, "wholesale": 800, "profiles": 2000},
    "bench_engines": {"accounts": (10_000,)},
    "bench_explain": {"accounts": 10_000},
    "bench_features": {"accounts": (2_000, 10_000)},
    "bench_pipeline": {"accounts": 10_000, "pages": 100},
}


def machine() -> str:
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


def markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def previous_sections() -> dict[str, str]:
    """The sections of the current BENCHMARKS.md by benchmark name (kept when only some are rerun)."""
    path = HERE.parent / "BENCHMARKS.md"
    if not path.exists():
        return {}
    parts = path.read_text(encoding="utf-8").split("\n## ")[1:]
    return {part.split("\n", 1)[0].strip(): "## " + part.rstrip("\n") + "\n" for part in parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run in a few minutes")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run these (e.g. bench_engines); keep the other sections"
    )
    args = parser.parse_args()
    sections = [
        f"# Benchmarks\n\nMachine: {machine()}. Date: {dt.date.today().isoformat()}. "
        f"Regenerate with `make bench`{' (quick run)' if args.quick else ''}.\n"
    ]
    kept = previous_sections() if args.only else {}
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem
        if args.only and name not in args.only:
            if name in kept:
                sections.append(kept[name])
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        if not hasattr(module, "main"):
            continue
        print(f"== {name}", flush=True)
        kwargs = QUICK.get(name, {}) if args.quick else {}
        try:
            rows = module.main(**kwargs)
        except ImportError as exc:  # an optional engine (e.g. dask) is not installed
            sections.append(f"## {name}\n\nskipped: {exc}\n")
            continue
        doc = (module.__doc__ or "").strip().splitlines()[0]
        table = markdown(pd.DataFrame(rows)) if rows else "(no rows)"
        notes = getattr(module, "NOTES", "")  # e.g. a link to the section's plot
        sections.append(f"## {name}\n\n{doc}\n\n{table}\n" + (f"\n{notes}\n" if notes else ""))
    (HERE.parent / "BENCHMARKS.md").write_text("\n".join(sections), encoding="utf-8")
    print(f"wrote {HERE.parent / 'BENCHMARKS.md'}")


if __name__ == "__main__":
    main()
