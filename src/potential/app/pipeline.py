"""The stages of every command: load -> features -> train (+ MLflow) -> score -> rate -> rank -> export -> report.

`Pipeline` runs them through one engine (`potential.engines`) with one config. Each stage returns plain data;
the CLI prints. Files are written only after a stage's work succeeded, and always atomically.
"""

from __future__ import annotations

import contextlib
import json
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from potential import __version__, interrupt
from potential.app.requests import (
    BacktestRequest,
    BacktestSummary,
    FeaturesRequest,
    RankRequest,
    RankSummary,
    ReportRequest,
    TrainRequest,
    TrainSummary,
)
from potential.app.workspace import holding
from potential.config import Config
from potential.engines import Engine, InputData
from potential.errors import InputError, InsufficientDataError, PotentialError, echo
from potential.export.history import (
    SPLIT_SCORES,
    PreviousModel,
    history_as_ofs,
    model_versions,
    outcome_as_ofs,
    previous_as_of,
    read_history,
    read_history_explanations,
    read_outcomes,
    write_history,
    write_history_explanations,
    write_outcomes,
)
from potential.export.profiles import previous_profile, write_profile
from potential.export.targets import (
    filter_targets,
    order_columns,
    read_targets,
    write_manifest,
    write_targets,
    write_targets_like,
)
from potential.features.profile import unused_text_notes
from potential.features.registry import describe
from potential.labels.audit import audit_lines
from potential.labels.training_set import label_override_notes
from potential.models.training import TARGETS, TargetResult, classification_metrics, train_target
from potential.scoring.changes import CHANGE_COLUMNS, list_changes
from potential.scoring.drift import SCORE_COLUMNS, bin_profile, drift_table
from potential.scoring.explain import contributions, long_explanations
from potential.scoring.list_quality import list_quality, qualifying_as_ofs
from potential.scoring.ranking import action_rule_texts, compare_with_previous, rank_accounts

Progress = Callable[[str], None]
MAX_AS_OF_GAP_DAYS = 45


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


def check_as_of(dataset: InputData, as_of: pd.Timestamp) -> list[str]:
    """An as-of must lie after the start of the history and not far past its end."""
    notes: list[str] = []
    first, last = dataset.first_date(), dataset.last_date()
    if first is None or last is None:  # profile-only data: no history to place the as-of in
        return notes
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


def shap_summaries(results: dict[str, TargetResult], ts, max_rows: int = 2000) -> dict[str, bytes]:
    """Mean |contribution| per feature on (a sample of) the test slice, as PNGs for the tracking store."""
    from potential.tracking.plots import shap_summary_png

    out = {}
    for target, result in results.items():
        rows = ts.features.loc[result.test_index[:max_rows]]
        points, _, base = contributions(result.model, rows)
        long = long_explanations(target, points, rows, base)
        out[f"shap_summary_{target}.png"] = shap_summary_png(
            long, f"{target}: mean |contribution| on the test slice"
        )
    return out


def truth_metrics(
    results: dict[str, TargetResult], ts, truth: pd.DataFrame, horizon_days: int
) -> dict[str, float]:
    """The test slice scored against what the generator actually did, beside the model's own label.

    `truth` is the synthetic portfolio's events (account_id, date, kind) or its per-account truth table
    (churn_date, expansion_date). For each test row (account, cutoff) the outcome is whether the generator's
    event of that kind happened in [cutoff, cutoff + horizon); for churn, rows whose account the generator
    had churned before the cutoff are left out (nothing left to predict). A label can look good on itself
    while missing what happens; this is the check that it does not.
    """
    from potential.data.truth import events_from_truth

    events = events_from_truth(truth)
    out: dict[str, float] = {}
    for target, result in results.items():
        mine = events[events["kind"] == target]
        accounts = result.test_index.get_level_values("account_id").astype(str)
        cutoffs = result.test_index.get_level_values("cutoff")
        rows = pd.DataFrame({"account_id": accounts, "cutoff": cutoffs, "row": np.arange(len(accounts))})
        joined = rows.merge(mine[["account_id", "date"]], on="account_id", how="inner")
        inside = (joined["date"] >= joined["cutoff"]) & (
            joined["date"] < joined["cutoff"] + pd.Timedelta(days=horizon_days)
        )
        y = np.zeros(len(accounts))
        y[joined.loc[inside, "row"].unique()] = 1.0
        keep = np.ones(len(accounts), dtype=bool)
        if target == "churn":
            keep[joined.loc[joined["date"] < joined["cutoff"], "row"].unique()] = False
        y = y[keep]
        if len(np.unique(y)) < 2:
            continue
        scores = np.asarray(result.test_scores, dtype=float)[keep]
        out[f"true_roc_auc_{target}"] = classification_metrics(y, scores, probabilities=False)["roc_auc"]
        out[f"true_positives_{target}"] = float(y.sum())  # how far to trust it: few events, wide error
        out[f"label_roc_auc_{target}"] = result.metrics["roc_auc"]
    return out


def model_card(
    tracker,
    champions: dict,
    as_of: pd.Timestamp,
    config: Config,
    dataset: InputData,
    notes: list[str],
    drift: dict[str, Any] | None = None,
    quality: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """run.json: what the report's portfolio page shows of the run — models and their baselines, notes, action
    rules, the drift against the previous run (`drift_summary`) and how the earlier lists did (`quality`,
    the rows of list_quality.csv)."""
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
            # the baselines: the champion's run's siblings for the same target
            siblings = board[(board["target"] == target) & (board["run_id"] != champ.run_id)]
            siblings = siblings[siblings["parent_run_id"] == (parent.iloc[0] if len(parent) else None)]
            for row in siblings.itertuples():
                baselines[str(row.model)] = {
                    "roc_auc": row.roc_auc,
                    "pr_auc": row.pr_auc,
                    "lift_at_10": row.lift_at_10,
                    "lift_at_20": row.lift_at_20,
                    "brier": row.brier,
                }
        models.append(
            {
                "target": target,
                "name": f"potential-{target}",
                "version": champ.version,
                "model": champ.model.label,
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
        "drift": drift,
        "list_quality": json.loads(quality.to_json(orient="records")) if quality is not None else [],
    }


DRIFT_CARD_FEATURES = 10  # features shown on the model card, largest PSI first (every score is shown)


def drift_summary(table: pd.DataFrame, previous: str, threshold: float) -> dict[str, Any]:
    """The model card's drift entry: every score and the top features by PSI against the run of `previous`."""
    features = table[table["role"] == "feature"]
    shown = pd.concat([table[table["role"] == "score"], features.head(DRIFT_CARD_FEATURES)])
    return {
        "previous_as_of": previous,
        "threshold": threshold,
        "features": len(features),
        "drifted_features": int(features["drifted"].sum()),
        "rows": json.loads(shown.to_json(orient="records")),
    }


def drift_notes(table: pd.DataFrame, previous: str, threshold: float) -> list[str]:
    """One note naming the features (and one the scores) whose PSI reached the threshold, largest first."""
    notes = []
    for role, what in (("feature", "features"), ("score", "scores")):
        moved = table[(table["role"] == role) & table["drifted"]]
        if len(moved):
            listed = ", ".join(f"{c} ({v:.2f})" for c, v in zip(moved["column"], moved["psi"], strict=True))
            notes.append(
                f"drift: {len(moved)} of {int((table['role'] == role).sum())} {what} shifted since the run of "
                f"{previous} (population stability index >= {threshold:g}): {listed}."
            )
    return notes


TOO_GOOD_AUC = 0.99  # held-out ROC-AUC above which a churn or expansion model is more likely told the answer


def too_good_to_be_true(target: str, result: TargetResult) -> str | None:
    """A note when the held-out ROC-AUC is implausibly high: what people and their accounts do next is never
    that predictable, while an export column recorded with or after the outcome (a churn reason, a closed
    status, a second copy of the label) is. It names the feature the model leans on most."""
    auc = result.metrics.get("roc_auc", float("nan"))
    if not auc >= TOO_GOOD_AUC or result.importance.empty:
        return None
    top = str(result.importance["feature"].iloc[0])
    return (
        f"{target}: ROC-AUC {auc:.3f} on the held-out slice is rarely real; the model leans most on '{top}'. "
        "If that column is recorded with or after the outcome (a churn reason, a closed status, a copy of the "
        "label), remove it from the export: the list would rank accounts by what is already known."
    )


class Pipeline:
    """The stages of one command, run through `engine` with `config`; `progress` hears what is going on.

    Data folders are read once per pipeline: `run` trains and ranks from the same loaded data.
    """

    def __init__(self, engine: Engine[Any], config: Config, progress: Progress | None = None):
        self.engine = engine
        self.config = config
        self.progress = progress
        self._loaded: dict[Path, InputData] = {}
        self._locks = contextlib.ExitStack()
        weakref.finalize(self, self._locks.close)

    def claim(self, workspace: Path, command: str) -> None:
        """Hold the workspace's lock from now until the pipeline is closed (one writer per workspace).

        Called by every stage that writes to a workspace, before any work, so `run` holds it from training
        to the last report page and a second writer is refused at once (`potential.app.workspace`).
        """
        self._locks.enter_context(holding(Path(workspace), command))

    def close(self) -> None:
        """Release the workspace locks this pipeline holds."""
        self._locks.close()

    def say(self, message: str) -> None:
        """Tell the user what is happening; also the point where a requested stop takes effect."""
        interrupt.check()
        if self.progress is not None:
            self.progress(message)

    # ------------------------------------------------------------------------------------------- load
    def load(self, folder: Path) -> InputData:
        """The validated input of `folder` (read once per pipeline)."""
        key = Path(folder).resolve()
        if key not in self._loaded:
            self._loaded[key] = self.engine.load(Path(folder))
        return self._loaded[key]

    @staticmethod
    def data_notes(data: InputData) -> list[str]:
        """What reading the data noted, and the profile columns no model can use (text with too many values)."""
        source = data.sources.get("accounts")
        unused = unused_text_notes(data.accounts, Path(source).name) if source is not None else []
        return list(data.notes) + unused

    # ------------------------------------------------------------------------------------------- features
    def features(self, request: FeaturesRequest) -> tuple[int, int]:
        """Write the scoring features at the as-of; (accounts, feature columns)."""
        if Path(request.out).suffix not in (".parquet", ".csv"):
            raise PotentialError(f"--out {request.out}: use a .parquet or .csv file name.")
        data = self.load(request.data)
        check_as_of(data, request.as_of)
        return self.engine.write_features(data, request.as_of, Path(request.out))

    def audit(self, folder: Path, as_of: pd.Timestamp) -> list[str]:
        """The leakage audit at `as_of`: time travel, constant features, suspiciously strong single features."""
        data = self.load(folder)
        check_as_of(data, as_of)
        self.say("leakage audit: features from the full data and from the data cut at the as-of")
        full = self.engine.features(data, as_of)
        cut = self.engine.features(self.engine.truncated(data, as_of), as_of)
        try:
            training, _ = self.engine.training_set(data, as_of)
        except InsufficientDataError as exc:  # too little history for labels: report what we can
            return audit_lines(full, cut, None, str(exc))
        return audit_lines(full, cut, training)

    # ------------------------------------------------------------------------------------------- train
    def train(self, request: TrainRequest) -> TrainSummary:
        """Train churn and expansion models (LightGBM + baselines) at the as-of, log them and gate the champions."""
        from potential.tracking.store import Champion, Tracker

        config = self.config
        started = time.perf_counter()
        self.claim(request.workspace, "train")
        data = self.load(request.data)
        as_of = request.as_of
        notes = self.data_notes(data) + check_as_of(data, as_of)
        self.say("building the point-in-time training set")

        def cutoffs(done: int, total: int) -> None:
            self.say(f"point-in-time training set, cutoffs done: {done}/{total}")

        ts, boosters = self.engine.training_set(data, as_of, progress=cutoffs)
        notes += ts.cutoffs.notes  # how the cutoffs were adapted to a short history, if they were
        if ts.mode == "history":  # labels.csv beside transactions: which of its labels were not used
            source = data.sources.get("labels")
            notes += label_override_notes(data.labels, Path(source).name if source else "labels", ts.cutoffs)
        results: dict[str, TargetResult] = {}
        refusals: list[str] = []
        for target in TARGETS:
            if ts.labels[target].notna().sum() == 0:
                notes.append(f"{target}: not modelled (no {target} labels in this data).")
                continue
            tuning = config.training.tuning
            searched = f", {tuning.trials}-trial parameter search" if tuning.enabled else ""
            blend = " blended with a logistic regression" if config.training.linear_weight > 0 else ""
            self.say(f"training {target} (LightGBM{searched}{blend}; baselines)")
            try:
                results[target] = train_target(ts, target, config, boosters)
            except InsufficientDataError as exc:
                refusals.append(str(exc))
                notes.append(f"{target}: not modelled — {exc}")
                continue
            suspicious = too_good_to_be_true(target, results[target])
            if suspicious:
                notes.append(suspicious)
            search = results[target].tuning
            if search is not None and search.timed_out:
                notes.append(
                    f"{target}: the parameter search stopped at the time cap after {len(search.trials)} of "
                    f"{search.budget} trials (training.tuning.timeout_seconds = {tuning.timeout_seconds:g}); "
                    "the chosen parameters depend on this machine's speed — raise the cap or lower "
                    "training.tuning.trials for a repeatable search."
                )
        if not results:
            raise InsufficientDataError(" / ".join(refusals) or "no target could be trained")
        oracle = (
            truth_metrics(results, ts, request.truth, config.time.horizon_days)
            if request.truth is not None
            else {}
        )
        tracker = Tracker(request.workspace, config)
        tracker.set_input_example(ts.features)

        def rescore(champion: Champion, target: str) -> float | None:
            result, model = results[target], champion.model
            test = ts.features.loc[result.test_index]
            if set(model.spec.columns) != set(result.model.spec.columns):
                return None
            learned = champion.learned_until
            if learned is not None and (ts.mode != "history" or learned > min(ts.cutoffs["test"])):
                return None  # refitted on these outcomes: in-sample here, its recorded metrics compare fairly
            y = ts.labels.loc[result.test_index, target].to_numpy()
            return classification_metrics(y, model.predict(test)).get(config.training.promotion.metric)

        self.say("logging runs and models to MLflow")
        context = {
            "as_of": as_of.date().isoformat(),
            "horizon_days": config.time.horizon_days,
            "data_digest": data.digest(),
            "config_digest": config.digest(),
            "engine": self.engine.name,
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
            checkpoint=lambda: self.say("moving registry aliases"),
        )
        self.say("logging the test-slice evaluation to MLflow")
        tracker.log_evaluation(results, ts, decisions, Path(request.data), dict(data.digests))
        return TrainSummary(
            results, decisions, notes, oracle, len(ts.features), time.perf_counter() - started
        )

    # ------------------------------------------------------------------------------------------- rank
    def rank(self, request: RankRequest) -> RankSummary:
        """Score every account with the champions, rate and rank them, export the list and the report inputs."""
        from potential.data.io import write_table
        from potential.reports.segments import resolve_segments, segment_frame
        from potential.scoring.rating import load_profile
        from potential.tracking.store import Tracker

        config = self.config
        as_of = request.as_of
        workspace = Path(request.workspace)
        self.claim(workspace, "rank")
        profile = load_profile(config.rating_profile_path())
        previous = read_previous(request.since) if request.since is not None else None
        data = self.load(request.data)
        notes = list(data.notes) + check_as_of(data, as_of)
        segment_columns = resolve_segments(
            config.report.segments,
            data.accounts.columns,
            "the accounts table",
            "name columns it has, or remove report.segments for industry and region.",
        )
        if not config.tracking.uri and not (workspace / "models" / "mlflow.db").exists():
            raise PotentialError(
                f"{workspace / 'models'}: no champion model (no tracking store here); run `potential train --data ... "
                f"--as-of ... --out {workspace}` first."
            )
        tracker = Tracker(workspace, config)
        self.say("loading champion models from the registry")
        champions = tracker.champions()
        if not champions.get("churn") and not champions.get("expansion"):
            raise PotentialError(
                f"{workspace / 'models'}: no champion model in the registry; run `potential train --data ... --as-of ... --out {workspace}` first."
            )
        self.say("scoring, explaining and rating accounts")
        scored = self.engine.score(data, as_of, champions, profile)
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
        exported = filter_targets(
            ranked, request.top, list(request.tiers) or None, list(request.actions) or None
        )

        # for the change split and the drift: the table the scores came from where the engine kept it
        features = scored.features if scored.features is not None else self.engine.features(data, as_of)
        under_previous = self._under_previous_models(
            features, scored.table, as_of, tracker, champions, ranked, workspace, notes
        )
        earlier_outcomes = self._earlier_outcomes(data, workspace, as_of)

        exports = workspace / "exports"
        lineage = {
            "as_of": as_of.date().isoformat(),
            "model_versions": versions,
            "config_digest": config.digest(),
            "data_digests": data.digests,
            "code_version": __version__,
            "rows": len(exported),
            "horizon_days": config.time.horizon_days,
        }
        day = as_of.date().isoformat()
        quality = self._list_quality(data, ranked, workspace, notes, earlier_outcomes)
        self.say("measuring drift against the previous run")
        scores = ranked.set_index("account_id")
        current = {
            "feature": features,
            "score": scores[[c for c in SCORE_COLUMNS if c in scores.columns]],
        }
        drift = self._drift(current, workspace, day, notes)
        reference = bin_profile(current)  # what the next run measures its drift against
        self.say(f"writing {len(exported)} rows")  # last stop: the files below are written as one set
        paths = [write_targets(exported, exports / f"targets.{request.fmt}", request.fmt, lineage)]
        # report inputs: everything the pages show, so `report` needs no data folder
        keep = set(exported["account_id"])
        paths += self.engine.write_report_inputs(scored, data, as_of, keep, exports)
        segments = segment_frame(data.accounts, ranked["account_id"], segment_columns)
        paths.append(write_table(segments, exports / "segments.parquet"))
        paths.append(self._write_changes(ranked, workspace, exports, notes))
        quality_file = exports / "list_quality.csv"
        if quality is not None:
            paths.append(write_targets_like(quality, quality_file))
        else:  # a list_quality.csv of an earlier rank would describe lists this one did not look at
            quality_file.unlink(missing_ok=True)
        # after the changes were read against the earlier lists
        write_history(ranked, workspace, under_previous)
        explained = pd.read_parquet(exports / "explanations.parquet")
        write_history_explanations(explained, workspace, as_of.date().isoformat())
        if earlier_outcomes is not None:
            write_outcomes(earlier_outcomes[1], workspace, earlier_outcomes[0], config.time.horizon_days)
        write_profile(reference, workspace, day)
        card = model_card(tracker, champions, as_of, config, data, notes, drift, quality)
        paths.append(write_manifest(exports / "run.json", card))
        manifest = {
            **lineage,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": sorted(p.name for p in paths),
            "format": request.fmt,
            "targets": paths[0].name,
            "filters": {
                "top": request.top,
                "tier": list(request.tiers) or None,
                "action": list(request.actions) or None,
                "since": str(request.since) if request.since else None,
            },
        }
        paths.append(write_manifest(exports / "manifest.json", manifest))
        notes += tracker.log_inference(as_of, champions, ranked, manifest, Path(request.data))
        return RankSummary(exported, paths, notes, versions)

    def _write_changes(self, ranked: pd.DataFrame, workspace: Path, exports: Path, notes: list[str]) -> Path:
        """exports/changes.csv: the accounts whose tier, action or priority changed since the previous list
        in the workspace's history (header only, with a note, when there is none)."""
        as_of = str(ranked["as_of"].iloc[0]) if len(ranked) else ""
        before = previous_as_of(workspace, as_of)
        if before is None:
            changes = pd.DataFrame(columns=list(CHANGE_COLUMNS))
            notes.append("changes.csv: no earlier list in this workspace's history to compare with.")
        else:
            changes = list_changes(
                ranked, read_history(workspace, before), self.config.ranking.change_threshold
            )
        return write_targets_like(changes, exports / "changes.csv")

    def _list_quality(
        self,
        data: InputData,
        ranked: pd.DataFrame,
        workspace: Path,
        notes: list[str],
        known: tuple[str, pd.DataFrame] | None = None,
    ) -> pd.DataFrame | None:
        """How the earlier lists in the history did over their horizon (`scoring.list_quality`): the table of
        exports/list_quality.csv, or None with a note when no earlier list's horizon has passed yet.

        `known`: outcomes of one as-of already computed by this rank (as-of, `Engine.outcomes`), not redone."""
        h = self.config.time.horizon_days
        last = data.last_date()
        as_of = str(ranked["as_of"].iloc[0]) if len(ranked) else ""
        if not data.has_history or last is None:
            notes.append(
                "list_quality.csv: not written (no transactions, so no outcomes to check lists against)."
            )
            return None
        earlier = qualifying_as_ofs(history_as_ofs(workspace), as_of, h, last)
        if not earlier:
            notes.append(
                f"list_quality.csv: not written — no earlier list in this workspace's history whose {h}-day horizon "
                f"has passed (the data ends on {last.date()}); it appears once a list at least {h} days older than "
                "the data's end is stored."
            )
            return None
        self.say(f"checking {len(earlier)} earlier list(s) against what happened next")
        history = pd.concat([read_history(workspace, day) for day in earlier], ignore_index=True)
        outcomes = {
            day: known[1]
            if known is not None and known[0] == day
            else self.engine.outcomes(data, pd.Timestamp(day))
            for day in earlier
        }
        return list_quality(history, outcomes, h)

    def _drift(
        self, current: dict[str, pd.DataFrame], workspace: Path, as_of: str, notes: list[str]
    ) -> dict[str, Any] | None:
        """PSI of every feature and score against the previous run's stored profile, for the model card
        (None, with a note, when no earlier run stored one); drifted columns are named in the notes."""
        before = previous_profile(workspace, as_of)
        if before is None:
            notes.append(
                "drift: no earlier run in this workspace's history to compare features and scores with."
            )
            return None
        previous, reference = before
        threshold = self.config.ranking.drift_psi_threshold
        table = drift_table(reference, current, threshold)
        notes += drift_notes(table, previous, threshold)
        return drift_summary(table, previous, threshold)

    def _under_previous_models(
        self,
        features: pd.DataFrame,
        scored: pd.DataFrame,
        as_of: pd.Timestamp,
        tracker: Any,
        champions: dict[str, Any],
        ranked: pd.DataFrame,
        workspace: Path,
        notes: list[str],
    ) -> PreviousModel | None:
        """The accounts of this as-of scored with the model versions of the previous stored list: s(v1, X2),
        the middle term of the report's change split (`potential.export.history`).

        Nothing is scored when the versions did not change. Otherwise only the previous versions' predictions
        run (no TreeSHAP: the split needs scores, not explanations) on today's `features`; the rest of today's
        `scored` table (money, rating) is kept, and the list is ranked again for the priority. Versions that
        cannot be loaded or applied any more give a note (in the history, for the report, and in the run's
        notes) instead of a failed rank.
        """
        from potential.scoring.accounts import model_scores
        from potential.tracking.store import Champion

        before = previous_as_of(workspace, as_of.date().isoformat())
        if before is None:
            return None
        earlier = read_history(workspace, before)
        label = str(earlier["model_version"].iloc[0]) if len(earlier) else ""
        current = str(ranked["model_version"].iloc[0]) if len(ranked) else ""
        if label == current:
            return PreviousModel(before, label, ranked[["account_id", *SPLIT_SCORES]])
        self.say(f"scoring with the models of the list of {before} ({label}) to split the change since then")
        try:
            models: dict[str, Any] = {}
            for target, version in model_versions(label).items():
                champ = champions.get(target)
                models[target] = (
                    champ
                    if champ is not None and champ.version == version
                    else Champion(target, tracker.load_version(target, version), version, "", {})
                )
            previous, _, _ = model_scores(features, models, self.config, explain=False)
        except Exception as exc:  # deleted, unreadable, or built for features this data no longer has
            note = (
                f"the models of the list of {before} ({label}) could not be loaded or applied to this data "
                f"({echo(str(exc), 200)}), so the change is shown whole, not split into model and data."
            )
            notes.append(f"what changed: {note}")
            return PreviousModel(before, label, None, note)
        previous.index = previous.index.astype(str)
        rescored = scored.copy()
        ids = rescored["account_id"].astype(str)
        for column in previous.columns:
            rescored[column] = ids.map(previous[column]).to_numpy(dtype=float)
        table = rank_accounts(rescored, self.config.ranking)
        for column in ("expansion_probability", "churn_probability"):
            table[column] = table[column].round(6)
        return PreviousModel(before, label, table[["account_id", *SPLIT_SCORES]])

    def _earlier_outcomes(
        self, data: InputData, workspace: Path, as_of: pd.Timestamp
    ) -> tuple[str, pd.DataFrame] | None:
        """What happened after the latest earlier list whose horizon has passed in the data (the report's model
        quality by segment): (its as-of, the outcomes), or None when there is no such list or its outcomes at
        this horizon are already stored."""
        h = self.config.time.horizon_days
        last = data.last_date()
        if not data.has_history or last is None:
            return None
        earlier = qualifying_as_ofs(history_as_ofs(workspace), as_of.date().isoformat(), h, last)
        if not earlier:
            return None
        day = earlier[-1]
        if day in outcome_as_ofs(workspace):
            stored = read_outcomes(workspace, day)
            if len(stored) and set(stored["horizon_days"].astype(int)) == {h}:
                return None
        self.say(f"what happened after the list of {day}")
        return day, self.engine.outcomes(data, pd.Timestamp(day))

    # ------------------------------------------------------------------------------------------- report
    def report(self, request: ReportRequest) -> list[Path]:
        """Write the portfolio page and the account pages from the files the last `rank` wrote."""
        self.claim(request.workspace, "report")
        return report(self.config, request, self.progress)

    # ------------------------------------------------------------------------------------------- backtest
    def backtest(self, request: BacktestRequest) -> BacktestSummary:
        """Rank as of each date from the events before it, then score the list against what happened next.

        Models are trained for each as-of on the truncated data and kept in memory: a backtest never touches
        the workspace's registry or its champions. Writes exports/backtest.json and reports/backtest.html.
        """
        from potential.data.truth import read_truth_events
        from potential.reports.backtest import write_backtest_page
        from potential.scoring.backtest import METRIC_COLUMNS, lift_over_best_baseline

        config = self.config
        data = self.load(request.data)
        if not data.has_history:
            raise InputError(
                f"{request.data}: no transactions table; a backtest needs a history to replay "
                "(a profile-only table has no 'what happened next')."
            )
        h = config.time.horizon_days
        last = data.last_date()
        assert last is not None
        for as_of in request.as_ofs:
            check_as_of(data, as_of)
            if as_of + pd.Timedelta(days=h) > last + pd.Timedelta(days=1):
                latest = (last + pd.Timedelta(days=1) - pd.Timedelta(days=h)).date()
                raise InputError(
                    f"--as-of {as_of.date()}: what happened in the {h} days after it is not all in the data (the last "
                    f"transaction is on {last.date()}); choose an as-of on or before {latest}, or a shorter "
                    "--horizon-days."
                )
        self.claim(request.workspace, "backtest")
        truth = read_truth_events(Path(request.data))
        notes = list(data.notes)
        rows: list[dict[str, Any]] = []
        for as_of in sorted(set(request.as_ofs)):
            rows += self._backtest_one(data, as_of, request.top_k, truth, notes)
        table = pd.DataFrame(rows, columns=list(METRIC_COLUMNS))
        baselines = ["rfm_rule", "logistic", "bgnbd"]
        comparison = lift_over_best_baseline(table, "potential", baselines)
        exports = Path(request.workspace) / "exports"
        payload = {
            "as_of": [t.date().isoformat() for t in sorted(set(request.as_ofs))],
            "horizon_days": h,
            "top_k": request.top_k,
            "tier_a_share": self._tier_a_share(),
            "data_digest": data.digest(),
            "config_digest": config.digest(),
            "rows": json.loads(table.to_json(orient="records")),
            "comparison": json.loads(comparison.to_json(orient="records")),
            "notes": notes,
        }
        self.say("writing the backtest")
        paths = [write_manifest(exports / "backtest.json", payload)]
        paths.append(
            write_backtest_page(
                table, comparison, payload, Path(request.workspace) / "reports" / "backtest.html"
            )
        )
        return BacktestSummary(table, comparison, paths, notes)

    def _tier_a_share(self) -> float:
        return float(next(iter(self.config.ranking.tier_shares.values())))

    def _backtest_one(
        self, data: InputData, as_of: pd.Timestamp, top_k: int, truth: pd.DataFrame | None, notes: list[str]
    ) -> list[dict[str, Any]]:
        """Train on the events before `as_of`, rank, and score every method against the next horizon."""
        from potential.data.truth import churned_before, true_outcomes
        from potential.features.btyd import btyd_scores
        from potential.models.training import fit_logistic, rule_scores
        from potential.scoring.backtest import evaluate, list_action
        from potential.scoring.rating import load_profile
        from potential.tracking.store import Champion

        config = self.config
        h = config.time.horizon_days
        day = as_of.date().isoformat()
        self.say(f"backtest {day}: training on the events before it")
        past = self.engine.truncated(data, as_of)
        ts, boosters = self.engine.training_set(past, as_of)
        champions: dict[str, Any] = {}
        logistic: dict[str, Any] = {}
        for target in TARGETS:
            if ts.labels[target].notna().sum() == 0:
                continue
            try:
                result = train_target(ts, target, config, boosters)
            except InsufficientDataError as exc:
                notes.append(f"backtest {day}: {target} not modelled — {exc}")
                continue
            champions[target] = Champion(target, result.model, "backtest", "", result.metrics)
            if result.uplift is not None:
                champions["uplift"] = Champion("uplift", result.uplift, "backtest", "", result.uplift_metrics)
            # the rows the published model learned: every labelled cutoff when it was refitted on them
            learned = ts.labels[target].notna() if config.training.refit else None
            logistic[target] = fit_logistic(ts, target, learned)
        if not champions:
            raise InsufficientDataError(f"backtest {day}: no target could be trained on the events before it")
        self.say(f"backtest {day}: ranking and scoring against the next {h} days")
        scored = self.engine.score(past, as_of, champions, load_profile(config.rating_profile_path()))
        ranked = rank_accounts(scored.table, config.ranking).set_index("account_id")
        feats = self.engine.features(past, as_of)
        outcomes = self.engine.outcomes(data, as_of)
        try:
            bgnbd = btyd_scores(self.engine.transactions_before(data, as_of), as_of, h)
        except InsufficientDataError as exc:
            bgnbd = None
            notes.append(f"backtest {day}: BG/NBD baseline skipped — {exc}")
        if bgnbd is not None and bgnbd["expansion_score"].isna().all():
            notes.append(
                f"backtest {day}: the BG/NBD + Gamma-Gamma expansion baseline is skipped — Gamma-Gamma could "
                "not be fitted to the spend per order of this history (BG/NBD's churn baseline stands)."
            )
        money = {
            "churn": outcomes["baseline_spend"],
            "expansion": outcomes["uplift"],
        }
        rows: list[dict[str, Any]] = []
        outcome_sets = [(target, outcomes[target], money[target]) for target in TARGETS]
        if truth is not None:
            real = true_outcomes(truth, as_of, h).reindex(outcomes.index).fillna(0.0)
            # an account the generator churned before the as-of has no churn left to predict
            real.loc[real.index.isin(churned_before(truth, as_of)), "churn"] = np.nan
            outcome_sets += [(f"true {target}", real[target], money[target]) for target in TARGETS]
        for outcome, y, at_stake in outcome_sets:
            target = outcome.removeprefix("true ")
            if f"{target}_probability" not in ranked.columns or ranked[f"{target}_probability"].isna().all():
                continue
            scores: dict[str, pd.Series] = {
                "potential": ranked[f"{target}_probability"],
                "potential list": ranked["priority_score"],
            }
            rule = rule_scores(feats, target)
            if rule is not None:
                scores["rfm_rule"] = pd.Series(rule, index=feats.index)
            if target in logistic:
                probabilities = logistic[target].predict_proba(feats[ts.features.columns])[:, 1]
                scores["logistic"] = pd.Series(probabilities, index=feats.index)
            if bgnbd is not None and bgnbd[f"{target}_score"].notna().any():
                scores["bgnbd"] = bgnbd[f"{target}_score"]
            # the list's action for this outcome: how often a Save churned, a Grow expanded
            acted = ranked["action"] == list_action(target)
            flags = {"potential list": acted}
            for row in evaluate(y, at_stake, scores, self._tier_a_share(), top_k, flags):
                rows.append({"as_of": day, "outcome": outcome, **row})
        return rows


def report(config: Config, request: ReportRequest, progress: Progress | None = None) -> list[Path]:
    """Write the portfolio page and the account pages from the files the last `rank` wrote (no engine needed)."""

    interrupt.check()
    workspace = Path(request.workspace)
    exports = workspace / "exports"
    targets_file = targets_path(exports, workspace)  # nothing to report: refused before the lock
    with holding(workspace, "report"):
        return _write_report(config, workspace, exports, targets_file, request.top_k, progress)


def _write_report(
    config: Config,
    workspace: Path,
    exports: Path,
    targets_file: Path,
    top_k: int | None,
    progress: Progress | None,
) -> list[Path]:
    from potential.reports import ReportInput, write_reports

    targets = read_targets(targets_file)
    card = json.loads((exports / "run.json").read_text(encoding="utf-8"))
    explanations = pd.read_parquet(exports / "explanations.parquet")
    drivers = pd.read_parquet(exports / "drivers.parquet")
    names = sorted(set(explanations["feature"])) if len(explanations) else []
    report_input = ReportInput(
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
        **_report_memory(config, workspace, exports, targets, card, top_k or config.report.top_k),
    )

    def pages(done: int, total: int) -> None:
        if done == total or done % 25 == 0:
            interrupt.check()
            if progress is not None:
                progress(f"writing account pages: {done:,}/{total:,}")

    return write_reports(
        report_input, workspace / "reports", top_k=top_k or config.report.top_k, progress=pages
    )


def _report_memory(
    config: Config, workspace: Path, exports: Path, targets: pd.DataFrame, card: dict[str, Any], top_k: int
) -> dict[str, Any]:
    """The ReportInput fields that come from the workspace's history and the segments `rank` stored: the
    previous list, score histories of the paged accounts, the previous list's contributions, the segments to
    break the portfolio down by, and the latest earlier list with what happened after it."""
    from potential.reports.segments import resolve_segments

    stored = exports / "segments.parquet"
    segments = pd.read_parquet(stored) if stored.exists() else None
    columns = resolve_segments(
        config.report.segments,
        segments.columns if segments is not None else targets.columns,
        "exports/segments.parquet (what the last `rank` stored)"
        if segments is not None
        else "the target list",
        f"run `potential rank` with this config (it stores the segments), then `potential report --out {workspace}`.",
    )
    out: dict[str, Any] = {"previous": None, "segments": segments, "segment_columns": columns}
    as_of = str(
        card.get("as_of") or (targets["as_of"].iloc[0] if "as_of" in targets and len(targets) else "")
    )
    dates = [d for d in history_as_ofs(workspace) if d <= as_of]
    if as_of not in dates:  # a workspace ranked before the history was kept: no memory to show
        return out
    before = dates[-2] if len(dates) > 1 else None
    ranks = pd.to_numeric(targets["rank"], errors="coerce")
    paged = set(
        targets.assign(r=ranks).sort_values("r", kind="mergesort")["account_id"].astype(str).head(top_k)
    )
    current = read_history(workspace, as_of)
    previous = read_history(workspace, before) if before is not None else None
    others = read_history(workspace, accounts=paged)
    others = others[
        ~others["as_of"].astype(str).isin([as_of, before]) & (others["as_of"].astype(str) < as_of)
    ]
    out["score_history"] = pd.concat(
        [frame for frame in (others, previous, current) if frame is not None and len(frame)],
        ignore_index=True,
    )
    out["previous"] = previous
    if before is not None:
        out["previous_explanations"] = read_history_explanations(workspace, before, paged)
    graded = [d for d in outcome_as_ofs(workspace) if d < as_of and d in dates]
    if graded:
        listed = read_history(workspace, graded[-1])
        happened = read_outcomes(workspace, graded[-1])
        keep = ["account_id", "churn_probability", "expansion_probability"]
        out["outcomes"] = (
            listed[[c for c in keep if c in listed.columns]]
            .assign(account_id=listed["account_id"].astype(str))
            .merge(
                happened.assign(account_id=happened["account_id"].astype(str)), on="account_id", how="left"
            )
            .assign(as_of=graded[-1])
        )
    return out


def targets_path(exports: Path, workspace: Path) -> Path:
    """The target list the last `rank` wrote, as its manifest names it."""
    manifest = exports / "manifest.json"
    if not manifest.exists():
        raise InputError(
            f"{exports}: no target list (manifest.json is missing); run `potential rank` (or `potential run`) "
            f"with --out {workspace} first."
        )
    try:
        entry = json.loads(manifest.read_text(encoding="utf-8"))
        name = entry.get("targets") or f"targets.{entry['format']}"
    except (ValueError, KeyError, AttributeError) as exc:
        raise InputError(
            f"{manifest}: not a manifest written by `potential rank` ({exc}); rerun `potential rank --out {workspace}`."
        ) from None
    path = exports / Path(str(name)).name
    if not path.exists():
        raise InputError(
            f"{path}: the target list named in manifest.json is missing; rerun `potential rank --out {workspace}`."
        )
    return path


def read_previous(since: Path) -> pd.DataFrame:
    """An earlier targets file for `rank --since`: the columns the comparison needs, ranks as numbers."""
    from potential.data.schema import read_raw

    previous = read_raw(Path(since))
    for column in ("account_id", "rank", "tier"):
        if column not in previous.columns:
            raise InputError(
                f"{Path(since).name}: column '{column}' is missing; pass a targets.csv written by `potential rank`."
            )
    previous["rank"] = pd.to_numeric(previous["rank"], errors="coerce")
    return previous
