"""Wires the stages: load -> features -> train (+ MLflow) -> score -> rate -> rank -> export -> report.

Each stage returns plain data; the CLI prints. Files are written only after a stage's work succeeded, and
always atomically.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from potential import __version__, interrupt
from potential.config import Config
from potential.errors import InputError, InsufficientDataError, PotentialError
from potential.explain import build_reasons, contributions, long_explanations, top_drivers
from potential.export import filter_targets, order_columns, write_manifest, write_targets
from potential.features.build import build_features
from potential.features.registry import describe
from potential.io import write_table, write_text
from potential.labels import build_training_set
from potential.ranking import PROSPECT_CONVERSION, action_rule_texts, compare_with_previous, rank_accounts
from potential.schema import Dataset, load_dataset
from potential.training import TARGETS, TargetResult, classification_metrics, train_target

Progress = Callable[[str], None]
MAX_AS_OF_GAP_DAYS = 45
HISTORY_MONTHS = 24


def _say(progress: Progress | None, message: str) -> None:
    interrupt.check()
    if progress is not None:
        progress(message)


def parse_as_of(value: str | pd.Timestamp | None, option: str = "--as-of") -> pd.Timestamp:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(f"{option} is required: the date the list is for, e.g. {option} 2026-08-01.")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"{option} '{value}' is not a valid date ({exc}); use YYYY-MM-DD, e.g. 2026-08-01."
        ) from None
    if ts is pd.NaT or pd.isna(ts):
        raise InputError(f"{option} '{value}' is not a valid date; use YYYY-MM-DD, e.g. 2026-08-01.")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize()


def load(data: Path, config: Config):
    """The validated input: a Dataset (pandas engine) or a DaskData with the events on the cluster."""
    if config.engine == "dask":
        from potential import dask_engine

        return dask_engine.load(Path(data), config)
    return load_dataset(Path(data), config.data)


def check_as_of(dataset: Dataset, as_of: pd.Timestamp) -> list[str]:
    """An as-of must lie after the start of the history and not far past its end."""
    notes: list[str] = []
    if not dataset.has_history:
        return notes
    first, last = dataset.first_date(), dataset.last_date()
    if as_of <= first:
        raise InputError(
            f"--as-of {as_of.date()} is on or before the first transaction ({first.date()}): there is no history to "
            f"learn from; choose a date after {first.date()} (the data runs to {last.date()})."
        )
    gap = (as_of - last).days
    if gap > MAX_AS_OF_GAP_DAYS:
        raise InputError(
            f"--as-of {as_of.date()} is {gap} days after the last transaction ({last.date()}): every account would look "
            f"churned; choose an as-of at most {MAX_AS_OF_GAP_DAYS} days after {last.date()}."
        )
    return notes


# ----------------------------------------------------------------------------------------------- features
def features(data: Path, as_of: pd.Timestamp, out: Path, config: Config) -> tuple[Path, int, int]:
    dataset = load(data, config)
    check_as_of(dataset, as_of)
    if config.engine == "dask":
        from potential import dask_engine

        table = dask_engine.features(dataset, [as_of], as_of, config).drop(columns="cutoff")
        if Path(out).suffix == ".csv":  # one file for spreadsheets: the table comes to the client
            frame = table.compute().sort_values("account_id", ignore_index=True)
            interrupt.check()
            write_table(frame, out)
            return Path(out), len(frame), frame.shape[1] - 1
        interrupt.check()
        rows = dask_engine.write_parts(table.to_delayed(), Path(out))
        return Path(out), rows, table.shape[1] - 1
    table = build_features(dataset, as_of, config.features)
    frame = table.reset_index()
    interrupt.check()
    write_table(frame, out)
    return Path(out), len(frame), table.shape[1]


# ----------------------------------------------------------------------------------------------- train
@dataclass
class TrainSummary:
    results: dict[str, TargetResult]
    decisions: dict[str, dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    oracle: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    seconds: float = 0.0


def train(
    data: Path,
    as_of: pd.Timestamp,
    workspace: Path,
    config: Config,
    progress: Progress | None = None,
    truth: pd.DataFrame | None = None,
    dataset: Dataset | None = None,
) -> TrainSummary:
    from potential.tracking import Tracker

    started = time.perf_counter()
    dataset = dataset or load(data, config)
    notes = list(dataset.notes) + check_as_of(dataset, as_of)
    _say(progress, "building the point-in-time training set")
    boosters = None
    if config.engine == "dask":
        from distributed import default_client

        from potential import dask_engine

        ts, boosters = dask_engine.training_set(dataset, as_of, config, default_client())
    else:

        def cutoffs(done: int, total: int) -> None:
            _say(progress, f"point-in-time training set, cutoffs done: {done}/{total}")

        ts = build_training_set(dataset, as_of, config, progress=cutoffs)
    results: dict[str, TargetResult] = {}
    refusals: list[str] = []
    for target in TARGETS:
        if ts.labels[target].notna().sum() == 0:
            notes.append(f"{target}: not modelled (no {target} labels in this data).")
            continue
        _say(progress, f"training {target} (LightGBM + baselines)")
        try:
            results[target] = train_target(ts, target, config, boosters)
        except InsufficientDataError as exc:
            refusals.append(str(exc))
            notes.append(f"{target}: not modelled — {exc}")
    if not results:
        raise InsufficientDataError(" / ".join(refusals) or "no target could be trained")
    oracle = oracle_metrics(results, ts, truth) if truth is not None else {}
    tracker = Tracker(workspace, config)
    tracker.set_input_example(ts.features)

    def rescore(model, target: str) -> float | None:
        result = results[target]
        test = ts.features.loc[result.test_index]
        if set(model.spec.columns) != set(result.model.spec.columns):
            return None
        y = ts.labels.loc[result.test_index, target].to_numpy()
        return classification_metrics(y, model.predict(test)).get(config.training.promotion.metric)

    _say(progress, "logging runs and models to MLflow")
    context = {
        "as_of": as_of.date().isoformat(),
        "horizon_days": config.time.horizon_days,
        "data_digest": dataset.digest(),
        "config_digest": config.digest(),
        "engine": config.engine,
        "mode": ts.mode,
    }
    artifacts = {
        "training_notes.json": json.dumps(
            {
                "notes": notes,
                "cutoffs": {k: [str(c.date()) for c in v] for k, v in ts.cutoffs.items()},
                "oracle": oracle,
            },
            indent=2,
        ).encode()
    }
    artifacts.update(shap_summaries(results, ts))
    decisions = tracker.log_training(
        results,
        context,
        rescore,
        artifacts,
        parent_metrics=oracle,
        checkpoint=lambda: _say(progress, "moving registry aliases"),
    )
    return TrainSummary(results, decisions, notes, oracle, len(ts.features), time.perf_counter() - started)


def shap_summaries(results: dict[str, TargetResult], ts, max_rows: int = 2000) -> dict[str, bytes]:
    """Mean |contribution| per feature on (a sample of) the test slice, as PNGs for the tracking store."""
    from potential.plots import shap_summary_png

    out = {}
    for target, result in results.items():
        rows = ts.features.loc[result.test_index[:max_rows]]
        points, _, base = contributions(result.model, rows)
        long = long_explanations(target, points, rows, base)
        out[f"shap_summary_{target}.png"] = shap_summary_png(
            long, f"{target}: mean |contribution| on the test slice"
        )
    return out


def oracle_metrics(results: dict[str, TargetResult], ts, truth: pd.DataFrame) -> dict[str, float]:
    """ROC-AUC of the generator's latent propensities on the same test rows, beside the model's.

    The oracle knows each account's latent state at the cutoff: an account that already made its one
    expansion step before the cutoff has no expansion propensity left.
    """
    out: dict[str, float] = {}
    truth = truth.set_index("account_id")
    for target, result in results.items():
        column = f"{target}_propensity"
        if column not in truth.columns:
            continue
        accounts = result.test_index.get_level_values("account_id")
        oracle = truth[column].reindex(accounts).to_numpy(dtype=float)
        if target == "expansion" and "expansion_date" in truth.columns:
            happened = pd.to_datetime(truth["expansion_date"]).reindex(accounts).to_numpy()
            cutoffs = result.test_index.get_level_values("cutoff").to_numpy()
            oracle = np.where(~pd.isna(happened) & (happened < cutoffs), 0.0, oracle)
        y = ts.labels.loc[result.test_index, target].to_numpy()
        ok = np.isfinite(oracle)
        if ok.sum() < 10 or len(np.unique(y[ok])) < 2:
            continue
        auc_oracle = classification_metrics(y[ok], oracle[ok], probabilities=False)["roc_auc"]
        out[f"oracle_roc_auc_{target}"] = auc_oracle
        out[f"model_roc_auc_{target}"] = result.metrics["roc_auc"]
        out[f"oracle_ratio_{target}"] = result.metrics["roc_auc"] / auc_oracle
    return out


# ----------------------------------------------------------------------------------------------- rank
@dataclass
class RankSummary:
    targets: pd.DataFrame
    paths: list[Path]
    notes: list[str]
    model_versions: dict[str, str]


def score(
    dataset: Dataset, feats: pd.DataFrame, as_of: pd.Timestamp, champions: dict, config: Config
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Features at as_of -> calibrated probabilities, expected uplift, revenue at risk, contributions."""
    frame = pd.DataFrame(index=feats.index)
    notes: list[str] = []
    explanations = []
    for target in TARGETS:
        champ = champions.get(target)
        if champ is None:
            frame[f"{target}_probability"] = np.nan
            notes.append(f"{target}: no champion model, so not scored.")
            continue
        points, prob, base = contributions(champ.model, feats)
        frame[f"{target}_probability"] = prob
        explanations.append(long_explanations(target, points, feats, base))
    history = dataset.has_history
    h = config.time.horizon_days
    if history:
        recent = _recent_spend(dataset, as_of, h).reindex(feats.index).fillna(0.0)
        frame["revenue_at_risk"] = recent.clip(lower=0).round(2)
    else:
        frame["revenue_at_risk"] = np.nan
    uplift = champions.get("uplift")
    if uplift is not None and champions.get("expansion") is not None:
        frame["expected_uplift"] = np.round(uplift.model.predict(feats), 2)
    else:
        frame["expected_uplift"] = np.nan
    for column in (
        "is_prospect",
        "spend_365d",
        "potential_spend_365d",
        "potential_multiple",
        "peer_spend_percentile",
        "peer_gap_to_p75",
        "days_since_last_purchase",
    ):
        if column in feats.columns:
            frame[column] = feats[column]
    if "is_prospect" in frame.columns:
        prospect = frame["is_prospect"] == 1
        for target in TARGETS:
            frame.loc[prospect, f"{target}_probability"] = np.nan
        frame.loc[prospect, "expected_uplift"] = np.nan
        frame.loc[prospect, "revenue_at_risk"] = 0.0
        frame["prospect_value"] = np.where(
            prospect, frame.get("potential_spend_365d", 0) * h / 365.25 * PROSPECT_CONVERSION, 0.0
        )
        frame["is_prospect"] = prospect
        lapsed = (~prospect) & (
            feats.get("days_since_last_purchase", pd.Series(0, index=feats.index))
            > config.time.active_lookback_days
        )
        frame["status"] = np.where(prospect, "prospect", np.where(lapsed, "lapsed", "active"))
    else:
        frame["status"] = "active"
    long = (
        pd.concat(explanations, ignore_index=True)
        if explanations
        else pd.DataFrame(
            columns=["account_id", "target", "feature", "value", "value_text", "contribution", "base"]
        )
    )
    if "is_prospect" in frame.columns and len(long):
        prospects = set(frame.index[frame["is_prospect"]])
        long = long[~long["account_id"].isin(prospects)].reset_index(drop=True)
    return frame, long, notes


@dataclass
class Scored:
    """Scores, rating and reasons of a set of accounts (the portfolio, or one partition of it)."""

    table: pd.DataFrame  # one row per account: account_id, probabilities, money, rating, names, reasons
    explanations: pd.DataFrame  # long: account_id, target, feature, value, value_text, contribution, base
    rating: pd.DataFrame  # long: the rating profile's criteria per account
    drivers: pd.DataFrame  # top model drivers per account and target, with their phrases
    notes: list[str]


def score_accounts(
    dataset: Dataset, feats: pd.DataFrame, as_of: pd.Timestamp, champions: dict, config: Config, profile
) -> Scored:
    """Everything `rank` knows of an account before the portfolio-wide ranking; per account only."""
    from potential.rating import profile_warnings, rate_accounts

    scored, long, notes = score(dataset, feats, as_of, champions, config)
    profile_input = dataset.accounts.set_index("account_id").reindex(feats.index)
    for column in feats.columns:
        if column not in profile_input.columns:
            profile_input[column] = feats[column]
    notes += profile_warnings(profile, profile_input.columns)
    rating = rate_accounts(profile, profile_input)
    scored = scored.join(rating.scores)
    accounts = dataset.accounts.set_index("account_id").reindex(scored.index)
    scored["account_name"] = (
        accounts["account_name"].fillna("").astype(str) if "account_name" in accounts else ""
    )
    for column in ("industry", "region"):
        if column in accounts.columns:
            scored[column] = accounts[column].astype(object).where(accounts[column].notna(), "").astype(str)
    drivers = top_drivers(long)
    scored["reasons"] = build_reasons(drivers, rating.contributions, pd.Index(scored.index)).to_numpy()
    scored = scored.reset_index().rename(columns={"index": "account_id"})
    return Scored(scored, long, rating.contributions, drivers, notes)


def _recent_spend(dataset: Dataset, as_of: pd.Timestamp, days: int) -> pd.Series:
    tx = dataset.transactions
    mask = (tx["date"] < as_of) & (tx["date"] >= as_of - pd.Timedelta(days=days))
    return tx.loc[mask].groupby("account_id")["amount"].sum()


def monthly_history(
    dataset: Dataset, as_of: pd.Timestamp, accounts: pd.Index, months: int = HISTORY_MONTHS
) -> pd.DataFrame:
    start = (as_of - pd.DateOffset(months=months)).to_period("M").to_timestamp()
    ids = set(map(str, accounts))
    parts = []
    if dataset.has_history:
        tx = dataset.transactions
        tx = tx[(tx["date"] < as_of) & (tx["date"] >= start) & tx["account_id"].isin(ids)]
        parts.append(
            tx.assign(
                month=tx["date"].dt.to_period("M").dt.to_timestamp(), orders=(tx["amount"] > 0).astype(int)
            )
            .groupby(["account_id", "month"])
            .agg(spend=("amount", "sum"), orders=("orders", "sum"))
        )
    if dataset.activities is not None:
        act = dataset.activities
        act = act[(act["date"] < as_of) & (act["date"] >= start) & act["account_id"].isin(ids)]
        parts.append(
            act.assign(month=act["date"].dt.to_period("M").dt.to_timestamp())
            .groupby(["account_id", "month"])
            .size()
            .rename("activities")
            .to_frame()
        )
    if not parts:
        return pd.DataFrame(columns=["account_id", "month", "spend", "orders", "activities"])
    history = pd.concat(parts, axis=1).fillna(0).reset_index()
    for column in ("spend", "orders", "activities"):
        if column not in history.columns:
            history[column] = 0
    history["orders"] = history["orders"].astype(int)
    history["activities"] = history["activities"].astype(int)
    return history.sort_values(["account_id", "month"], ignore_index=True)[
        ["account_id", "month", "spend", "orders", "activities"]
    ]


def rank(
    data: Path,
    as_of: pd.Timestamp,
    workspace: Path,
    config: Config,
    fmt: str = "csv",
    top: int | None = None,
    tiers: list[str] | None = None,
    actions: list[str] | None = None,
    since: Path | None = None,
    progress: Progress | None = None,
    dataset: Dataset | None = None,
) -> RankSummary:
    from potential.rating import load_profile
    from potential.tracking import Tracker

    workspace = Path(workspace)
    profile = load_profile(config.rating_profile_path())
    previous = None
    if since is not None:
        from potential.schema import read_raw

        previous = read_raw(Path(since))
        for column in ("account_id", "rank", "tier"):
            if column not in previous.columns:
                raise InputError(
                    f"{Path(since).name}: column '{column}' is missing; pass a targets.csv written by `potential rank`."
                )
        previous["rank"] = pd.to_numeric(previous["rank"], errors="coerce")
    dataset = dataset or load(data, config)
    notes = list(dataset.notes) + check_as_of(dataset, as_of)
    if not config.tracking.uri and not (workspace / "models" / "mlflow.db").exists():
        raise PotentialError(
            f"{workspace / 'models'}: no champion model (no tracking store here); run `potential train --data ... "
            f"--as-of ... --out {workspace}` first."
        )
    tracker = Tracker(workspace, config)
    _say(progress, "loading champion models from the registry")
    champions = tracker.champions()
    if not champions.get("churn") and not champions.get("expansion"):
        raise PotentialError(
            f"{workspace / 'models'}: no champion model in the registry; run `potential train --data ... --as-of ... --out {workspace}` first."
        )
    _say(progress, "scoring, explaining and rating accounts")
    if config.engine == "dask":
        from potential import dask_engine

        scored = dask_engine.score(dataset, as_of, champions, config, profile)
    else:
        feats = build_features(dataset, as_of, config.features)
        scored = score_accounts(dataset, feats, as_of, champions, config, profile)
    notes += scored.notes
    ranked = rank_accounts(scored.table, config.ranking)
    versions = {t: f"{c.version}" for t, c in champions.items()}
    ranked["as_of"] = as_of.date().isoformat()
    ranked["model_version"] = ";".join(f"{t}:v{v}" for t, v in sorted(versions.items())) or "rating-only"
    for column in ("expansion_probability", "churn_probability"):
        ranked[column] = ranked[column].round(6)
    ranked["rating_score"] = ranked["rating_score"].round(1)
    if previous is not None:
        ranked = compare_with_previous(ranked, previous)
    ranked = order_columns(ranked)
    exported = filter_targets(ranked, top, tiers, actions)

    exports = workspace / "exports"
    lineage = {
        "as_of": as_of.date().isoformat(),
        "model_versions": versions,
        "config_digest": config.digest(),
        "data_digests": dataset.digests,
        "code_version": __version__,
        "rows": len(exported),
        "horizon_days": config.time.horizon_days,
    }
    _say(progress, f"writing {len(exported)} rows")  # last stop: the files below are written as one set
    paths = [write_targets(exported, exports / f"targets.{fmt}", fmt, lineage)]
    # report inputs: everything the pages show, so `report` needs no data folder
    keep = set(exported["account_id"])
    if config.engine == "dask":
        from potential import dask_engine

        paths += dask_engine.write_report_inputs(scored, dataset, as_of, keep, exports)
    else:
        for name, table in (
            ("explanations", scored.explanations),
            ("rating", scored.rating),
            ("drivers", scored.drivers),
        ):
            mine = table[table["account_id"].isin(keep)].reset_index(drop=True)
            paths.append(write_table(mine, exports / f"{name}.parquet"))
        history = monthly_history(dataset, as_of, pd.Index(exported["account_id"]).astype(str))
        paths.append(write_table(history, exports / "history.parquet"))
    card = model_card(tracker, champions, as_of, config, dataset, notes)
    paths.append(
        write_text(exports / "run.json", json.dumps(card, indent=2, sort_keys=True, default=str) + "\n")
    )
    manifest = {
        **lineage,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": sorted(p.name for p in paths),
        "format": fmt,
        "filters": {"top": top, "tier": tiers, "action": actions, "since": str(since) if since else None},
    }
    paths.append(write_manifest(exports / "manifest.json", manifest))
    return RankSummary(exported, paths, notes, versions)


def model_card(
    tracker, champions: dict, as_of: pd.Timestamp, config: Config, dataset: Dataset, notes: list[str]
) -> dict[str, Any]:
    models = []
    board = tracker.leaderboard()
    for target in TARGETS:
        champ = champions.get(target)
        if champ is None:
            continue
        metrics = {
            k: v
            for k, v in champ.metrics.items()
            if k in ("roc_auc", "pr_auc", "brier", "log_loss", "lift_at_10", "lift_at_20")
        }
        baselines: dict[str, dict[str, float]] = {}
        if len(board):
            parent = board.loc[board["run_id"] == champ.run_id, "parent_run_id"]
            siblings = board[(board["target"] == target) & (board["model"] != "lightgbm")]
            siblings = siblings[siblings["parent_run_id"] == (parent.iloc[0] if len(parent) else None)]
            for row in siblings.itertuples():
                baselines[str(row.model)] = {
                    "roc_auc": row.roc_auc,
                    "pr_auc": row.pr_auc,
                    "lift_at_20": row.lift_at_20,
                }
        models.append(
            {
                "target": target,
                "name": f"potential-{target}",
                "version": champ.version,
                "metrics": metrics,
                "baselines": baselines,
            }
        )
    return {
        "as_of": as_of.date().isoformat(),
        "horizon_days": config.time.horizon_days,
        "models": models,
        "notes": notes,
        "data_digest": dataset.digest(),
        "config_digest": config.digest(),
        "action_rules": action_rule_texts(config.ranking),
        "currency": config.data.currency,
    }


# ----------------------------------------------------------------------------------------------- report
def report(
    workspace: Path, config: Config, top_k: int | None = None, progress: Progress | None = None
) -> list[Path]:
    from potential.reports import ReportInput, write_reports

    interrupt.check()
    exports = Path(workspace) / "exports"
    targets_path = exports / "targets.csv"
    if not targets_path.exists():
        parquet = exports / "targets.parquet"
        if not parquet.exists():
            raise InputError(
                f"{exports}: no targets.csv; run `potential rank` (or `potential run`) with --out {workspace} first."
            )
        targets = pd.read_parquet(parquet)
    else:
        targets = pd.read_csv(targets_path, dtype={"account_id": str}, keep_default_na=False, na_values=[""])
        for column in ("account_name", "reasons", "tier", "action", "action_rule", "industry", "region"):
            if column in targets.columns:
                targets[column] = (
                    targets[column]
                    .fillna("")
                    .astype(str)
                    .map(lambda v: v[1:] if v.startswith("'") and len(v) > 1 and v[1] in "=+-@\t\r" else v)
                )
    card = json.loads((exports / "run.json").read_text(encoding="utf-8"))
    explanations = pd.read_parquet(exports / "explanations.parquet")
    drivers = pd.read_parquet(exports / "drivers.parquet")
    names = sorted(set(explanations["feature"])) if len(explanations) else []
    data = ReportInput(
        targets=targets,
        explanations=explanations,
        rating=pd.read_parquet(exports / "rating.parquet"),
        history=pd.read_parquet(exports / "history.parquet"),
        feature_text={n: describe(n) for n in names},
        driver_phrases=drivers[["account_id", "target", "feature", "phrase"]]
        if len(drivers)
        else pd.DataFrame(columns=["account_id", "target", "feature", "phrase"]),
        model_card=card,
        currency=card.get("currency", ""),
        previous=None,
    )

    def pages(done: int, total: int) -> None:
        if done == total or done % 25 == 0:
            _say(progress, f"writing account pages: {done:,}/{total:,}")

    return write_reports(
        data, Path(workspace) / "reports", top_k=top_k or config.report.top_k, progress=pages
    )
