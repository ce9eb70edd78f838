"""Command line: `potential <command>`. Exit codes: 0 ok, 2 bad input or config, 1 a bug, 130 interrupted."""

from __future__ import annotations

import json
import math
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from potential import __version__, interrupt
from potential.app.pipeline import Pipeline, parse_as_of
from potential.app.pipeline import report as write_report
from potential.app.requests import (
    BacktestRequest,
    FeaturesRequest,
    RankRequest,
    ReportRequest,
    TrainRequest,
    TrainSummary,
)
from potential.config import Config, load_config
from potential.engines import open_engine
from potential.errors import PotentialError

if TYPE_CHECKING:
    pass

app = typer.Typer(
    name="potential",
    help="Rank B2B accounts by expansion potential and churn risk, explain every score, publish target lists and reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _clean(value: object) -> str:
    """User text made safe for a terminal: control characters (escape sequences) shown, not obeyed."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c in "\n\t" or c.isprintable() else repr(c)[1:-1] for c in text)


class _Console(Console):
    """A console that prints text as it is: never as markup, control characters made visible; lines are not
    wrapped when the output is a file or a pipe (a log keeps one line per message)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if not self.is_terminal:
            kwargs.setdefault("soft_wrap", True)
        super().print(*(_clean(o) if isinstance(o, str) else o for o in objects), **kwargs)


out = _Console(markup=False, highlight=False)
err = _Console(stderr=True, markup=False, highlight=False)


def _note(text: str) -> None:
    out.print(Text.assemble(("note", "yellow"), ": ", _clean(text)))


def _print_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], optional: Sequence[str] = ()
) -> None:
    """A table that never truncates a cell.

    A file or a pipe gets plain aligned columns (full width, one line per row, easy to grep and cut). A
    terminal gets a table when it is wide enough, leaving out the `optional` columns (in that order) until
    it is and saying which; else one block of `column: value` lines per row, every column shown.
    """
    cells = [[_clean(c) for c in row] for row in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    if not out.is_terminal:
        lines = [title, "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
        out.print("\n".join(lines), soft_wrap=True)
        return
    shown = list(range(len(columns)))
    left_out: list[str] = []
    for name in (None, *optional):
        if name is not None:
            shown.remove(columns.index(name))
            left_out.append(name)
        # a cell's padding on both sides, a space between columns and one at each edge
        if sum(widths[i] for i in shown) + 3 * len(shown) + 1 > out.width:
            continue
        table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1))
        for i in shown:
            table.add_column(columns[i], no_wrap=True)
        for row in cells:
            table.add_row(*(row[i] for i in shown))
        out.print(table)
        if left_out:
            out.print(
                Text(
                    f"left out at this width: {', '.join(left_out)} (a wider terminal, or a pipe, shows them)",
                    style="dim",
                )
            )
        return
    out.print(Text(title, style="bold"))
    label = max(len(c) for c in columns)
    for row in cells:
        out.print("")
        for column, value in zip(columns, row, strict=True):
            if value:
                out.print(Text.assemble((column.rjust(label), "dim"), "  ", value))


def _plain(value: Any) -> Any:
    """JSON-ready: NaN and infinities as null, numpy scalars as Python numbers, paths and dates as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _print_json(payload: Any) -> None:
    """One JSON document on stdout (what scripts read); progress and errors stay on stderr."""
    sys.stdout.write(json.dumps(_plain(payload), indent=2, ensure_ascii=False) + "\n")


STATE = {"debug": False}


class EngineName(StrEnum):
    pandas = "pandas"
    dask = "dask"


class Format(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    parquet = "parquet"


class Output(StrEnum):
    table = "table"
    json = "json"


class Listing(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


OutputOpt = Annotated[
    Output, typer.Option("--format", help="table (for people) or json (one document on stdout, for scripts).")
]


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config YAML (default: ./configs/default.yaml if present, else built-in defaults).",
    ),
]
DataOpt = Annotated[
    Path,
    typer.Option(
        "--data",
        "-d",
        help="Folder with transactions / accounts / activities / labels (CSV, TSV/TXT, Parquet or XLSX).",
    ),
]
AsOfOpt = Annotated[
    str,
    typer.Option(
        "--as-of", help="The date the list is for (YYYY-MM-DD); features use only events before it."
    ),
]
OutOpt = Annotated[
    Path, typer.Option("--out", "-o", help="Workspace folder for models/, exports/ and reports/.")
]
HorizonOpt = Annotated[
    int | None, typer.Option("--horizon-days", help="Label window in days (overrides time.horizon_days).")
]
EngineOpt = Annotated[
    EngineName | None, typer.Option("--engine", help="Execution engine (overrides engine in the config).")
]
SchedulerOpt = Annotated[
    str | None, typer.Option("--scheduler", help="Address of an existing Dask scheduler (dask engine only).")
]


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    STATE["debug"] = debug
    if version:
        out.print(f"potential {__version__}")
        raise typer.Exit(0)


def _config(
    path: Path | None, engine: EngineName | None = None, scheduler: str | None = None, **overrides
) -> Config:
    """The effective config: the file (or defaults), then the command line's flags."""
    overrides["engine.kind"] = engine.value if engine else None
    overrides["engine.scheduler"] = scheduler
    return load_config(path, {k: v for k, v in overrides.items() if v is not None})


@contextmanager
def _pipeline(config: Config, label: str) -> Iterator[Pipeline]:
    """The engine the config names, opened once for the command, and a spinner for its stages."""
    with open_engine(config) as engine, _step(label) as progress:
        pipeline = Pipeline(engine, config, progress)
        try:
            yield pipeline
        finally:
            pipeline.close()  # the workspace lock goes with the command, however it ends


@contextmanager
def _step(label: str):
    """A spinner with elapsed time for long work (quiet when output is not a terminal)."""
    started = time.perf_counter()
    with err.status(label, spinner="dots") as status:
        last = [""]

        def progress(message: str) -> None:
            """Show `message`; a log (no terminal) gets each stage once and its final count, not every tick."""
            interrupt.check()
            status.update(f"{message} [{time.perf_counter() - started:.0f}s]")
            stage, _, count = message.partition(": ")
            done, _, total = count.partition("/")
            if not err.is_terminal and (stage != last[0] or (total and done == total)):
                err.print(f"· {message}", highlight=False)
            last[0] = stage

        yield progress


# ------------------------------------------------------------------------------------------------ commands
@app.command()
def generate(
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write accounts/transactions/activities/truth into.")
    ],
    accounts: Annotated[int, typer.Option("--accounts", "-n", help="Number of accounts.")] = 2000,
    months: Annotated[int, typer.Option("--months", "-m", help="Months of history.")] = 36,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed (same seed, same files).")] = 42,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Write a synthetic B2B portfolio with known ground truth (truth.csv, truth_events.csv)."""
    from potential.synthetic.portfolio import generate_portfolio, write_portfolio

    if fmt not in ("csv", "parquet"):
        raise PotentialError(f"--format '{fmt}' is not supported; use csv or parquet.")
    with _step("generating portfolio"):
        portfolio = generate_portfolio(accounts, months, seed)
        paths = write_portfolio(portfolio, out_dir, fmt)
    out.print(
        f"wrote {len(portfolio.accounts):,} accounts, {len(portfolio.transactions):,} transactions, "
        f"{len(portfolio.activities):,} activities to {out_dir}"
    )
    for path in paths:
        out.print(f"  {path}")


@app.command()
def validate(
    data: DataOpt,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    scheduler: SchedulerOpt = None,
    fmt: OutputOpt = Output.table,
) -> None:
    """Check a data folder against the table contract; print what was found and any warnings."""
    from potential.scoring.rating import load_profile, profile_warnings

    cfg = _config(config, engine, scheduler)
    with _pipeline(cfg, "validating") as pipeline:
        dataset = pipeline.load(data)
        tables = pipeline.engine.tables(dataset)
        columns = set(dataset.accounts.columns)
        first, last = dataset.first_date(), dataset.last_date()
        if last is not None:
            import pandas as pd

            columns |= set(pipeline.engine.features(dataset, last + pd.Timedelta(days=1)).columns)
    profile = load_profile(cfg.rating_profile_path())
    notes = pipeline.data_notes(dataset) + profile_warnings(profile, columns)
    if fmt is Output.json:
        _print_json(
            {
                "data": str(data),
                "valid": True,
                "tables": [vars(summary) for summary in tables],
                "history": None
                if first is None or last is None
                else {"first": first.date().isoformat(), "last": last.date().isoformat()},
                "digests": dict(dataset.digests),
                "notes": notes,
            }
        )
        return
    _print_table(
        f"{data}",
        ("table", "file", "rows", "columns", "not read"),
        [(t.table, t.file, f"{t.rows:,}", f"{t.columns}", ", ".join(t.unread) or "-") for t in tables],
        optional=("not read",),
    )
    if first is not None and last is not None:
        out.print(f"history: {first.date()} to {last.date()}")
    for note in notes:
        _note(note)
    out.print(Text("valid", style="green"))


@app.command()
def features(
    data: DataOpt,
    as_of: AsOfOpt,
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Output file (.parquet or .csv).")],
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    scheduler: SchedulerOpt = None,
    audit: Annotated[
        bool, typer.Option("--audit", help="Also run the leakage audit and print its findings.")
    ] = False,
) -> None:
    """Write the scoring features at --as-of: one row per account, an account_id column."""
    cfg = _config(config, engine, scheduler)
    if out_file.suffix not in (".parquet", ".csv"):
        raise PotentialError(f"--out {out_file}: use a .parquet or .csv file name.")
    as_of_ts = parse_as_of(as_of)
    with _pipeline(cfg, "building features") as pipeline:
        rows, cols = pipeline.features(FeaturesRequest(data, as_of_ts, out_file))
        lines = pipeline.audit(data, as_of_ts) if audit else []
    out.print(f"wrote {rows:,} accounts x {cols} features to {out_file}")
    for line in lines:
        out.print(line, highlight=False)


def _training_json(summary: TrainSummary) -> dict[str, Any]:
    models = []
    for target, result in summary.results.items():
        models.append({"target": target, "model": result.model.label, "metrics": result.metrics})
        models += [{"target": target, "model": name, "metrics": m} for name, m in result.baselines.items()]
        if result.uplift is not None and result.uplift_metrics:
            models.append(
                {"target": "uplift", "model": result.uplift.label, "metrics": result.uplift_metrics}
            )
    return {
        "rows": summary.rows,
        "seconds": round(summary.seconds, 1),
        "models": models,
        "decisions": summary.decisions,
        "oracle": summary.oracle,
        "notes": summary.notes,
    }


def _print_training(summary: TrainSummary) -> None:
    rows: list[tuple[str, ...]] = []
    for target, result in summary.results.items():
        for name, m in [(result.model.label, result.metrics), *result.baselines.items()]:
            brier = m.get("brier")
            rows.append(
                (
                    target,
                    name,
                    f"{m['roc_auc']:.3f}",
                    f"{m['pr_auc']:.3f}",
                    f"{m['lift_at_20']:.2f}",
                    "—" if brier is None else f"{brier:.3f}",
                )
            )
        if result.uplift_metrics:
            u = result.uplift_metrics
            rows.append(
                (
                    target,
                    "uplift regressor",
                    f"MAE {u.get('mae', float('nan')):,.0f}",
                    f"ρ {u.get('spearman', float('nan')):.2f}",
                    "",
                    "",
                )
            )
    _print_table(
        "time validation (test slice = latest cutoffs)",
        ("target", "model", "ROC-AUC", "PR-AUC", "lift@20%", "Brier"),
        rows,
    )
    for key in sorted(k for k in summary.oracle if k.startswith("true_roc_auc_")):
        target = key.removeprefix("true_roc_auc_")
        events = summary.oracle.get(f"true_positives_{target}")
        counted = "" if events is None else f" ({events:,.0f} in the test slice)"
        out.print(
            f"against the generator's true {target} events{counted}: ROC-AUC {summary.oracle[key]:.3f} "
            f"({summary.oracle[f'label_roc_auc_{target}']:.3f} on its own label)"
        )
    for target, decision in summary.decisions.items():
        mark = "champion" if decision["promoted"] else "challenger"
        out.print(
            f"{target}: registered v{decision['version']} as {mark} ({decision['reason']})", highlight=False
        )
    for note in summary.notes:
        _note(note)


@app.command()
def train(
    data: DataOpt,
    as_of: AsOfOpt,
    out_dir: OutOpt = Path("."),
    horizon_days: HorizonOpt = None,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    scheduler: SchedulerOpt = None,
    fmt: OutputOpt = Output.table,
) -> None:
    """Train churn and expansion models (LightGBM + baselines), log to MLflow, gate the champion."""
    cfg = _config(config, engine, scheduler, **{"time.horizon_days": horizon_days})
    as_of_ts = parse_as_of(as_of)
    with _pipeline(cfg, "training") as pipeline:
        summary = pipeline.train(TrainRequest(data, as_of_ts, out_dir))
    if fmt is Output.json:
        _print_json({"as_of": as_of_ts.date().isoformat(), **_training_json(summary)})
        return
    _print_training(summary)


def _tracker(out_dir: Path, cfg: Config):
    """The workspace's tracking store, refusing a workspace that has none (rather than creating one)."""
    from potential.tracking.store import Tracker

    if not (out_dir / "models" / "mlflow.db").exists() and not cfg.tracking.uri:
        raise PotentialError(
            f"{out_dir / 'models' / 'mlflow.db'}: no tracking store; train first with "
            f"`potential train --data ... --as-of ... --out {out_dir}`."
        )
    return Tracker(out_dir, cfg)


def _number(value: Any, spec: str = ".3f") -> str:
    """A metric as text; missing (None, NaN, empty) as a dash."""
    if isinstance(value, str):
        return value or "—"
    if value is None or pd.isna(value):
        return "—"
    return format(value, spec)


def _write_listing(frame, fmt: Listing) -> bool:
    """csv or json of a listing on stdout; False when the caller prints the table."""
    if fmt is Listing.csv:
        sys.stdout.write(frame.to_csv(index=False))
        return True
    if fmt is Listing.json:
        sys.stdout.write(frame.to_json(orient="records", indent=2) + "\n")
        return True
    return False


@app.command()
def compare(
    out_dir: OutOpt = Path("."),
    config: ConfigOpt = None,
    sort: Annotated[
        str, typer.Option("--sort", help="Metric to sort by: roc_auc, pr_auc, lift_at_20, brier, started.")
    ] = "started",
    fmt: Annotated[Listing, typer.Option("--format", help="table, csv or json.")] = Listing.table,
    limit: Annotated[int, typer.Option("--limit", help="Rows to show in the table.")] = 40,
) -> None:
    """Leaderboard of model runs in the workspace's MLflow store (LightGBM vs baselines, registered versions)."""
    cfg = _config(config)
    board = _tracker(out_dir, cfg).leaderboard()
    valid = {"roc_auc", "pr_auc", "lift_at_20", "brier", "started"}
    if sort not in valid:
        raise PotentialError(f"--sort '{sort}' is not a metric here; use one of {', '.join(sorted(valid))}.")
    if len(board):
        board = board.sort_values(sort, ascending=sort in ("brier",), na_position="last", kind="mergesort")
    if _write_listing(board, fmt):
        return
    rows = [
        (
            str(row.started),
            str(row.as_of),
            str(row.target),
            str(row.model),
            str(row.version) or "—",
            _number(row.roc_auc),
            _number(row.pr_auc),
            _number(row.lift_at_20, ".2f"),
            _number(row.brier),
            "★ champion" if row.champion else "",
        )
        for row in board.head(limit).itertuples()
    ]
    _print_table(
        f"model runs in {out_dir} (sorted by {sort}; `potential models` lists the versions)",
        ("started", "as_of", "target", "model", "version", "ROC-AUC", "PR-AUC", "lift@20%", "Brier", ""),
        rows,
        optional=("started", "Brier", "PR-AUC", "as_of"),
    )


@app.command()
def models(
    out_dir: OutOpt = Path("."),
    config: ConfigOpt = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Only this target: churn, expansion or uplift.")
    ] = None,
    fmt: Annotated[Listing, typer.Option("--format", help="table, csv or json.")] = Listing.table,
) -> None:
    """Registered model versions: aliases (champion, challenger), as-of, test-slice metrics, format."""
    from potential.tracking.store import REGISTERED

    if target is not None and target not in REGISTERED:
        raise PotentialError(f"--target '{target}' is not known; use one of {', '.join(REGISTERED)}.")
    frame = _tracker(out_dir, _config(config)).models()
    if target is not None:
        frame = frame[frame["target"] == target].reset_index(drop=True)
    if _write_listing(frame, fmt):
        return
    rows = []
    for row in frame.itertuples():
        if row.target == "uplift":
            scores = (f"MAE {_number(row.mae, ',.0f')}", f"ρ {_number(row.spearman, '.2f')}", "", "")
        else:
            scores = (
                _number(row.roc_auc),
                _number(row.pr_auc),
                _number(row.lift_at_20, ".2f"),
                _number(row.brier),
            )
        rows.append(
            (row.target, f"v{row.version}", row.aliases or "—", row.trained, row.as_of, *scores, row.format)
        )
    _print_table(
        f"registered models in {out_dir}",
        (
            "target",
            "version",
            "aliases",
            "trained",
            "as_of",
            "ROC-AUC",
            "PR-AUC",
            "lift@20%",
            "Brier",
            "format",
        ),
        rows,
        optional=("trained", "format", "Brier", "PR-AUC", "as_of"),
    )
    if not rows:
        out.print("no registered versions yet; run `potential train`.")


@app.command()
def promote(
    target: Annotated[str, typer.Argument(help="churn, expansion or uplift.")],
    version: Annotated[
        str | None,
        typer.Argument(
            help="Registered version to make champion (default: the challenger; see `potential models`)."
        ),
    ] = None,
    out_dir: OutOpt = Path("."),
    config: ConfigOpt = None,
) -> None:
    """Make a registered model version (default: the challenger) the champion; bypasses the metric gate."""
    from potential.tracking.store import REGISTERED

    if target not in REGISTERED:
        raise PotentialError(f"unknown target '{target}'; use one of {', '.join(REGISTERED)}.")
    if version is not None:
        version = version.strip().removeprefix("v")
    for which, promoted in _tracker(out_dir, _config(config)).promote(target, version):
        out.print(f"{REGISTERED[which]} v{promoted} is now champion")


@app.command("config")
def config_command(
    config: ConfigOpt = None,
    show: Annotated[
        bool, typer.Option("--show", help="Print the effective config as YAML (the default).")
    ] = False,
    schema: Annotated[
        bool,
        typer.Option(
            "--schema", help="Print the config's JSON schema: every key, its type, default and meaning."
        ),
    ] = False,
) -> None:
    """Print the effective config (the file or built-in defaults) as YAML, or the JSON schema of every key."""
    if show and schema:
        raise PotentialError("--show and --schema print different things; pass one of them.")
    if schema:
        _print_json(Config.model_json_schema())
        return
    import yaml

    cfg = _config(config)
    header = f"# effective config ({cfg.source or 'built-in defaults'}); `potential config --schema` describes every key\n"
    body = yaml.safe_dump(
        cfg.model_dump(mode="json", exclude={"source"}), sort_keys=False, allow_unicode=True
    )
    sys.stdout.write(header + body)


@app.command()
def rank(
    data: DataOpt,
    as_of: AsOfOpt,
    out_dir: OutOpt = Path("."),
    fmt: Annotated[Format, typer.Option("--format", help="Output format of the target list.")] = Format.csv,
    top: Annotated[int | None, typer.Option("--top", help="Only the top K accounts.")] = None,
    tier: Annotated[list[str] | None, typer.Option("--tier", help="Only these tiers (repeatable).")] = None,
    action: Annotated[
        list[str] | None, typer.Option("--action", help="Only these actions: Grow, Save, Nurture, Maintain.")
    ] = None,
    since: Annotated[
        Path | None, typer.Option("--since", help="A previous targets.csv: adds rank/tier change columns.")
    ] = None,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    scheduler: SchedulerOpt = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the summary as one JSON document on stdout (--format is the list's file format).",
        ),
    ] = False,
) -> None:
    """Score accounts with the champion models, rate them, rank them and export the target list."""
    cfg = _config(config, engine, scheduler)
    request = RankRequest(
        data, parse_as_of(as_of), out_dir, fmt.value, top, tuple(tier or ()), tuple(action or ()), since
    )
    with _pipeline(cfg, "ranking") as pipeline:
        summary = pipeline.rank(request)
    if as_json:
        t = summary.targets
        _print_json(
            {
                "as_of": request.as_of.date().isoformat(),
                "rows": len(t),
                "model_versions": summary.model_versions,
                "tiers": {str(k): int(v) for k, v in t["tier"].value_counts().sort_index().items()},
                "actions": {str(k): int(v) for k, v in t["action"].value_counts().items()},
                "files": [str(p) for p in summary.paths],
                "target_list": str(summary.paths[0]),
                "notes": summary.notes,
            }
        )
        return
    _print_rank(summary, out_dir)


def _print_rank(summary, out_dir: Path, already: tuple[str, ...] = ()) -> None:
    t = summary.targets
    out.print(
        f"ranked {len(t):,} accounts as of {t['as_of'].iloc[0] if len(t) else '—'} "
        f"(models {', '.join(f'{k} v{v}' for k, v in sorted(summary.model_versions.items()))})"
    )
    if len(t):
        tiers = t["tier"].value_counts().sort_index()
        actions = t["action"].value_counts()
        out.print(
            "tiers: "
            + ", ".join(f"{k} {v:,}" for k, v in tiers.items())
            + " · actions: "
            + ", ".join(f"{k} {v:,}" for k, v in actions.items())
        )
    out.print(f"target list: {summary.paths[0]}")
    for note in summary.notes:
        if note in already:
            continue
        _note(note)


@app.command()
def report(
    out_dir: OutOpt = Path("."),
    top: Annotated[
        int | None, typer.Option("--top", help="Account pages to write (default: report.top_k).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Write the HTML portfolio page and one page per top account (self-contained, opens from disk)."""
    cfg = _config(config)
    with _step("writing reports") as progress:
        paths = write_report(cfg, ReportRequest(out_dir, top), progress)
    out.print(f"wrote {len(paths)} pages; open {out_dir / 'reports' / 'index.html'}")


@app.command()
def run(
    data: DataOpt,
    as_of: AsOfOpt,
    out_dir: OutOpt = Path("."),
    horizon_days: HorizonOpt = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format of the target list.")] = Format.csv,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Train, rank and report in one go."""
    cfg = _config(config, engine, scheduler, **{"time.horizon_days": horizon_days})
    as_of_ts = parse_as_of(as_of)
    with _pipeline(cfg, "running") as pipeline:
        summary = pipeline.train(TrainRequest(data, as_of_ts, out_dir))
        ranked = pipeline.rank(RankRequest(data, as_of_ts, out_dir, fmt.value))
        pages = pipeline.report(ReportRequest(out_dir))
    _print_training(summary)
    _print_rank(ranked, out_dir, tuple(summary.notes))
    out.print(f"reports: {out_dir / 'reports' / 'index.html'} ({len(pages) - 1} account pages)")


@app.command()
def backtest(
    data: DataOpt,
    as_of: Annotated[
        list[str],
        typer.Option(
            "--as-of",
            help="Date to rank as of (repeatable: --as-of 2026-05-01 --as-of 2026-08-01 gives a table over time).",
        ),
    ],
    out_dir: OutOpt = Path("."),
    horizon_days: HorizonOpt = None,
    top: Annotated[int, typer.Option("--top", help="Size of the top-K group beside tier A.")] = 100,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Rank as of each date from the events before it, then score the list against what happened next."""
    cfg = _config(config, engine, scheduler, **{"time.horizon_days": horizon_days})
    if top < 1:
        raise PotentialError(f"--top {top}: must be at least 1.")
    dates = tuple(parse_as_of(value) for value in as_of)
    with _pipeline(cfg, "backtest") as pipeline:
        summary = pipeline.backtest(BacktestRequest(data, dates, out_dir, top))
    _print_table(
        f"backtest: ROC-AUC against the next {cfg.time.horizon_days} days",
        ("as of", "outcome", "potential", "best baseline", "its ROC-AUC", "difference"),
        [
            (
                str(row.as_of),
                str(row.outcome),
                _number(row.roc_auc),
                str(row.best_baseline) or "—",
                _number(row.baseline_roc_auc),
                _number(row.difference, "+.3f"),
            )
            for row in summary.comparison.itertuples()
        ],
        optional=("its ROC-AUC",),  # the difference says it
    )
    ours = summary.table[summary.table["method"] == "potential"]
    for row in ours.itertuples():
        out.print(
            f"{row.as_of} {row.outcome}: tier A held {row.caught_tier_a:.0%} of the {row.positives:,} accounts "
            f"({row.money_caught_tier_a:.0%} of their money), the top {top} held {row.caught_top_k:.0%}",
            highlight=False,
        )
    from potential.scoring.backtest import list_action  # loaded by the backtest that just ran

    listed = summary.table[(summary.table["method"] == "potential list") & (summary.table["flagged"] > 0)]
    for record in listed.to_dict("records"):
        outcome = str(record["outcome"])
        action = list_action(outcome)
        happened = "churned" if action == "Save" else "expanded"
        base = float(record["positives"]) / float(record["accounts"])
        out.print(
            f"{record['as_of']} {outcome}: of the {float(record['flagged']):,.0f} accounts marked {action}, "
            f"{float(record['flagged_hit_rate']):.0%} {happened} ({base:.0%} of all accounts)",
            highlight=False,
        )
    for note in summary.notes:
        _note(note)
    out.print(f"backtest: {summary.paths[0]} and {summary.paths[1]}")


@app.command()
def demo(
    out_dir: OutOpt = Path("demo"),
    accounts: Annotated[int, typer.Option("--accounts", "-n", help="Number of synthetic accounts.")] = 2000,
    months: Annotated[int, typer.Option("--months", "-m", help="Months of history.")] = 36,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed.")] = 42,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Generate a synthetic portfolio into <out>/data and run the whole pipeline on it."""
    from potential.synthetic.portfolio import DEFAULT_END, generate_portfolio, write_portfolio

    cfg = _config(config, engine, scheduler, seed=seed)
    started = time.perf_counter()
    with _pipeline(cfg, "demo") as pipeline:
        pipeline.say(f"generating {accounts:,} accounts x {months} months")
        portfolio = generate_portfolio(accounts, months, seed)
        data = out_dir / "data"
        write_portfolio(portfolio, data, "csv")
        as_of = DEFAULT_END
        summary = pipeline.train(TrainRequest(data, as_of, out_dir, truth=portfolio.events))
        ranked = pipeline.rank(RankRequest(data, as_of, out_dir))
        pages = pipeline.report(ReportRequest(out_dir))
    _print_training(summary)
    _print_rank(ranked, out_dir, tuple(summary.notes))
    out.print(f"reports: {out_dir / 'reports' / 'index.html'} ({len(pages) - 1} account pages)")
    out.print(
        f"MLflow:  mlflow ui --backend-store-uri sqlite:///{(out_dir / 'models' / 'mlflow.db').resolve()}"
    )
    out.print(f"done in {time.perf_counter() - started:.0f}s")


# ------------------------------------------------------------------------------------------------ entry point
def _interrupted() -> None:
    err.print(
        "interrupted: nothing half-written; the previous outputs and champions are unchanged.", markup=False
    )
    sys.exit(130)


def main() -> None:
    interrupt.install()
    try:
        code = app(standalone_mode=False)
    except PotentialError as exc:
        if STATE["debug"]:
            traceback.print_exc()
        err.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        _interrupted()
    except Exception as exc:
        if hasattr(exc, "show") and isinstance(
            getattr(exc, "exit_code", None), int
        ):  # usage errors (bad option, value)
            exc.show()
            sys.exit(2)
        if STATE["debug"]:
            traceback.print_exc()
        err.print(
            f"internal error: {type(exc).__name__}: {exc} — this is a bug; rerun with --debug and report the traceback.",
            markup=False,
            highlight=False,
        )
        sys.exit(1)
    if code == 130:  # typer turns Ctrl-C / SIGTERM into exit code 130
        _interrupted()
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
