"""Command line: `potential <command>`. Exit codes: 0 ok, 2 bad input or config, 1 a bug, 130 interrupted."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
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
)
from potential.config import Config, load_config
from potential.engines import open_engine
from potential.errors import PotentialError

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
    """A console that prints text as it is: never as markup, control characters made visible."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(_clean(o) if isinstance(o, str) else o for o in objects), **kwargs)


out = _Console(markup=False, highlight=False)
err = _Console(stderr=True, markup=False, highlight=False)


def _note(text: str) -> None:
    out.print(Text.assemble(("note", "yellow"), ": ", _clean(text)))


STATE = {"debug": False}


class EngineName(StrEnum):
    pandas = "pandas"
    dask = "dask"


class Format(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    parquet = "parquet"


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
        "--data", "-d", help="Folder with transactions / accounts / activities / labels (CSV or Parquet)."
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
    """Write a synthetic B2B portfolio with known ground truth (truth.csv)."""
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
    data: DataOpt, config: ConfigOpt = None, engine: EngineOpt = None, scheduler: SchedulerOpt = None
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
    table = Table(title=f"{data}", show_lines=False)
    for column in ("table", "file", "rows", "columns"):
        table.add_column(column)
    for summary in tables:
        table.add_row(summary.table, _clean(summary.file), f"{summary.rows:,}", f"{summary.columns}")
    out.print(table)
    if first is not None and last is not None:
        out.print(f"history: {first.date()} to {last.date()}")
    profile = load_profile(cfg.rating_profile_path())
    for note in list(dataset.notes) + profile_warnings(profile, columns):
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


def _print_training(summary) -> None:
    table = Table(title="time validation (test slice = latest cutoffs)")
    for column in ("target", "model", "ROC-AUC", "PR-AUC", "lift@20%", "Brier"):
        table.add_column(column)
    for target, result in summary.results.items():
        rows = [("lightgbm", result.metrics)] + list(result.baselines.items())
        for name, m in rows:
            brier = m.get("brier")
            table.add_row(
                target,
                name,
                f"{m['roc_auc']:.3f}",
                f"{m['pr_auc']:.3f}",
                f"{m['lift_at_20']:.2f}",
                "—" if brier is None else f"{brier:.3f}",
            )
        if result.uplift_metrics:
            u = result.uplift_metrics
            table.add_row(
                target,
                "uplift regressor",
                f"MAE {u.get('mae', float('nan')):,.0f}",
                f"ρ {u.get('spearman', float('nan')):.2f}",
                "",
                "",
            )
    out.print(table)
    for key in sorted(k for k in summary.oracle if k.startswith("true_roc_auc_")):
        target = key.removeprefix("true_roc_auc_")
        out.print(
            f"against the generator's true {target} events: ROC-AUC {summary.oracle[key]:.3f} "
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
) -> None:
    """Train churn and expansion models (LightGBM + baselines), log to MLflow, gate the champion."""
    cfg = _config(config, engine, scheduler, **{"time.horizon_days": horizon_days})
    as_of_ts = parse_as_of(as_of)
    with _pipeline(cfg, "training") as pipeline:
        summary = pipeline.train(TrainRequest(data, as_of_ts, out_dir))
    _print_training(summary)


@app.command()
def compare(
    out_dir: OutOpt = Path("."),
    config: ConfigOpt = None,
    sort: Annotated[
        str, typer.Option("--sort", help="Metric to sort by: roc_auc, pr_auc, lift_at_20, brier, started.")
    ] = "started",
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    limit: Annotated[int, typer.Option("--limit", help="Rows to show in the table.")] = 40,
) -> None:
    """Leaderboard of model runs in the workspace's MLflow store (LightGBM vs baselines, champion marked)."""
    from potential.tracking.store import Tracker

    cfg = _config(config)
    if not (out_dir / "models" / "mlflow.db").exists() and not cfg.tracking.uri:
        raise PotentialError(
            f"{out_dir / 'models' / 'mlflow.db'}: no tracking store; train first with --out {out_dir}."
        )
    board = Tracker(out_dir, cfg).leaderboard()
    valid = {"roc_auc", "pr_auc", "lift_at_20", "brier", "started"}
    if sort not in valid:
        raise PotentialError(f"--sort '{sort}' is not a metric here; use one of {', '.join(sorted(valid))}.")
    if len(board):
        board = board.sort_values(sort, ascending=sort in ("brier",), na_position="last", kind="mergesort")
    if fmt == "csv":
        sys.stdout.write(board.to_csv(index=False))
        return
    if fmt == "json":
        sys.stdout.write(board.to_json(orient="records", indent=2) + "\n")
        return
    if fmt != "table":
        raise PotentialError(f"--format '{fmt}' is not supported; use table, csv or json.")
    table = Table(title=f"model runs in {out_dir} (sorted by {sort})")
    for column in ("started", "as_of", "target", "model", "ROC-AUC", "PR-AUC", "lift@20%", "Brier", ""):
        table.add_column(column)

    def f(v, spec=".3f"):
        return "—" if v is None or v != v else format(v, spec)

    for row in board.head(limit).itertuples():
        table.add_row(
            str(row.started),
            str(row.as_of),
            str(row.target),
            str(row.model),
            f(row.roc_auc),
            f(row.pr_auc),
            f(row.lift_at_20, ".2f"),
            f(row.brier),
            "★ champion" if row.champion else "",
        )
    out.print(table)


@app.command()
def promote(
    target: Annotated[str, typer.Argument(help="churn, expansion or uplift.")],
    version: Annotated[str, typer.Argument(help="Registered model version to make champion.")],
    out_dir: OutOpt = Path("."),
    config: ConfigOpt = None,
) -> None:
    """Make a registered model version the champion explicitly (bypasses the metric gate)."""
    from potential.tracking.store import REGISTERED, Tracker

    if target not in REGISTERED:
        raise PotentialError(f"unknown target '{target}'; use one of {', '.join(REGISTERED)}.")
    Tracker(out_dir, _config(config)).promote(target, version)
    out.print(f"{REGISTERED[target]} v{version} is now champion")


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
) -> None:
    """Score accounts with the champion models, rate them, rank them and export the target list."""
    cfg = _config(config, engine, scheduler)
    request = RankRequest(
        data, parse_as_of(as_of), out_dir, fmt.value, top, tuple(tier or ()), tuple(action or ()), since
    )
    with _pipeline(cfg, "ranking") as pipeline:
        summary = pipeline.rank(request)
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
    table = Table(title=f"backtest: ROC-AUC against the next {cfg.time.horizon_days} days")
    for column in ("as of", "outcome", "potential", "best baseline", "its ROC-AUC", "difference"):
        table.add_column(column)
    for row in summary.comparison.itertuples():
        table.add_row(
            str(row.as_of),
            str(row.outcome),
            f"{row.roc_auc:.3f}",
            str(row.best_baseline) or "—",
            "—" if row.baseline_roc_auc != row.baseline_roc_auc else f"{row.baseline_roc_auc:.3f}",
            "—" if row.difference != row.difference else f"{row.difference:+.3f}",
        )
    out.print(table)
    ours = summary.table[summary.table["method"] == "potential"]
    for row in ours.itertuples():
        out.print(
            f"{row.as_of} {row.outcome}: tier A held {row.caught_tier_a:.0%} of the {row.positives:,} accounts "
            f"({row.money_caught_tier_a:.0%} of their money), the top {top} held {row.caught_top_k:.0%}",
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
