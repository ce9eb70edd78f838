"""Command line: `potential <command>`. Exit codes: 0 ok, 2 bad input or config, 1 a bug, 130 interrupted."""

from __future__ import annotations

import sys
import time
import traceback
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from potential import __version__, interrupt
from potential.config import Config, load_config
from potential.engines import session as engine_session
from potential.errors import PotentialError

app = typer.Typer(
    name="potential",
    help="Rank B2B accounts by expansion potential and churn risk, explain every score, publish target lists and reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = Console()
err = Console(stderr=True)
STATE = {"debug": False}


class Engine(StrEnum):
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
    Engine | None, typer.Option("--engine", help="Execution engine (overrides engine in the config).")
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


def _config(path: Path | None, **overrides) -> Config:
    return load_config(path, {k: v for k, v in overrides.items() if v is not None})


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
    from potential.synthetic import generate_portfolio, write_portfolio

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
def validate(data: DataOpt, config: ConfigOpt = None) -> None:
    """Check a data folder against the table contract; print what was found and any warnings."""
    from potential.pipeline import load
    from potential.rating import load_profile, profile_warnings

    cfg = _config(config)
    dataset = load(data, cfg)
    table = Table(title=f"{data}", show_lines=False)
    for column in ("table", "file", "rows", "columns"):
        table.add_column(column)
    for name, path in dataset.sources.items():
        frame = getattr(dataset, name)
        table.add_row(name, path.name, f"{len(frame):,}", f"{frame.shape[1]}")
    out.print(table)
    if dataset.has_history:
        out.print(f"history: {dataset.first_date().date()} to {dataset.last_date().date()}")
    profile = load_profile(cfg.rating_profile_path())
    from potential.features.build import build_features

    columns = set(dataset.accounts.columns)
    if dataset.has_history:
        import pandas as pd

        columns |= set(
            build_features(dataset, dataset.last_date() + pd.Timedelta(days=1), cfg.features).columns
        )
    for note in list(dataset.notes) + profile_warnings(profile, columns):
        out.print(f"[yellow]note[/yellow]: {note}", highlight=False)
    out.print("[green]valid[/green]")


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
    from potential import pipeline

    cfg = _config(config, engine=engine.value if engine else None)
    if out_file.suffix not in (".parquet", ".csv"):
        raise PotentialError(f"--out {out_file}: use a .parquet or .csv file name.")
    as_of_ts = pipeline.parse_as_of(as_of)
    with engine_session(cfg, scheduler), _step("building features"):
        path, rows, cols = pipeline.features(data, as_of_ts, out_file, cfg)
    out.print(f"wrote {rows:,} accounts x {cols} features to {path}")
    if audit:
        from potential.audit import audit_features

        for line in audit_features(data, as_of_ts, cfg):
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
    for key in sorted(k for k in summary.oracle if k.startswith("oracle_ratio_")):
        target = key.removeprefix("oracle_ratio_")
        out.print(
            f"oracle check {target}: model ROC-AUC {summary.oracle[f'model_roc_auc_{target}']:.3f} vs true propensities "
            f"{summary.oracle[f'oracle_roc_auc_{target}']:.3f} (ratio {summary.oracle[key]:.3f})"
        )
    for target, decision in summary.decisions.items():
        mark = "champion" if decision["promoted"] else "challenger"
        out.print(
            f"{target}: registered v{decision['version']} as {mark} ({decision['reason']})", highlight=False
        )
    for note in summary.notes:
        out.print(f"[yellow]note[/yellow]: {note}", highlight=False)


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
    from potential import pipeline

    cfg = _config(config, **{"time.horizon_days": horizon_days, "engine": engine.value if engine else None})
    as_of_ts = pipeline.parse_as_of(as_of)
    with engine_session(cfg, scheduler), _step("training") as progress:
        summary = pipeline.train(data, as_of_ts, out_dir, cfg, progress=progress)
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
    from potential.tracking import Tracker

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
    from potential.tracking import REGISTERED, Tracker

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
    from potential import pipeline

    cfg = _config(config, engine=engine.value if engine else None)
    as_of_ts = pipeline.parse_as_of(as_of)
    with engine_session(cfg, scheduler), _step("ranking") as progress:
        summary = pipeline.rank(
            data, as_of_ts, out_dir, cfg, fmt.value, top, tier, action, since, progress=progress
        )
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
        out.print(f"[yellow]note[/yellow]: {note}", highlight=False)


@app.command()
def report(
    out_dir: OutOpt = Path("."),
    top: Annotated[
        int | None, typer.Option("--top", help="Account pages to write (default: report.top_k).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Write the HTML portfolio page and one page per top account (self-contained, opens from disk)."""
    from potential import pipeline

    cfg = _config(config)
    with _step("writing reports") as progress:
        paths = pipeline.report(out_dir, cfg, top, progress=progress)
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
    from potential import pipeline

    cfg = _config(config, **{"time.horizon_days": horizon_days, "engine": engine.value if engine else None})
    as_of_ts = pipeline.parse_as_of(as_of)
    with engine_session(cfg, scheduler), _step("running") as progress:
        dataset = pipeline.load(data, cfg)
        summary = pipeline.train(data, as_of_ts, out_dir, cfg, progress=progress, dataset=dataset)
        ranked = pipeline.rank(data, as_of_ts, out_dir, cfg, fmt.value, progress=progress, dataset=dataset)
        pages = pipeline.report(out_dir, cfg, progress=progress)
    _print_training(summary)
    _print_rank(ranked, out_dir, tuple(summary.notes))
    out.print(f"reports: {out_dir / 'reports' / 'index.html'} ({len(pages) - 1} account pages)")


@app.command()
def demo(
    out_dir: OutOpt = Path("demo"),
    accounts: Annotated[int, typer.Option("--accounts", "-n", help="Number of synthetic accounts.")] = 2000,
    months: Annotated[int, typer.Option("--months", "-m", help="Months of history.")] = 36,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed.")] = 42,
    config: ConfigOpt = None,
) -> None:
    """Generate a synthetic portfolio into <out>/data and run the whole pipeline on it."""
    from potential import pipeline
    from potential.synthetic import DEFAULT_END, generate_portfolio, write_portfolio

    cfg = _config(config, seed=seed)
    started = time.perf_counter()
    with _step("demo") as progress:
        progress(f"generating {accounts:,} accounts x {months} months")
        portfolio = generate_portfolio(accounts, months, seed)
        data = out_dir / "data"
        write_portfolio(portfolio, data, "csv")
        as_of = DEFAULT_END
        dataset = pipeline.load(data, cfg)
        summary = pipeline.train(
            data, as_of, out_dir, cfg, progress=progress, truth=portfolio.truth, dataset=dataset
        )
        ranked = pipeline.rank(data, as_of, out_dir, cfg, "csv", progress=progress, dataset=dataset)
        pages = pipeline.report(out_dir, cfg, progress=progress)
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
