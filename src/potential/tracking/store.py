"""MLflow: experiments, runs, the model registry and the leaderboard. The only module that imports mlflow.

Embedded default: tracking and registry in sqlite at <workspace>/models/mlflow.db, artifacts under
<workspace>/models/artifacts. `tracking.uri` in the config points at a server instead.
Aliases: `champion` (what `rank` scores with) and `challenger` (registered, not promoted). Aliases move only
after the whole training succeeded; a failed or killed run is marked FAILED and moves nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from potential import __version__
from potential.config import Config
from potential.errors import PotentialError
from potential.models.training import TargetResult, TrainedModel
from potential.models.tuning import TuningResult
from potential.scoring.drift import SCORE_COLUMNS

if TYPE_CHECKING:
    from potential.labels.training_set import TrainingSet

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("MLFLOW_TRACKING_INSECURE_TLS", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
import mlflow  # noqa: E402
from mlflow.entities import Metric  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

for _name in ("mlflow", "alembic", "mlflow.store", "mlflow.models", "mlflow.utils"):
    logging.getLogger(_name).setLevel(logging.ERROR)

REGISTERED = {
    "churn": "potential-churn",
    "expansion": "potential-expansion",
    "uplift": "potential-expansion-uplift",
}
CHAMPION, CHALLENGER = "champion", "challenger"
# tag potential.role of a training's child runs: the models it registers, or the baselines it scores beside them
PUBLISHED = "published"
PYFUNC_FORMAT = "pyfunc-1"  # metadata.potential.format of models registered as a pyfunc (raw features in)
TUNING_TRIAL_METRIC = "tuning_trial_roc_auc"  # one value per search trial, step = the trial's number
METRICS = ("roc_auc", "pr_auc", "lift_at_20", "brier", "mae", "spearman")  # what `models` and `compare` show


@dataclass(frozen=True)
class Champion:
    target: str
    model: TrainedModel
    version: str
    run_id: str
    metrics: dict[str, float]
    # the as-of through which a refitted booster (`training.refit`) learned outcomes; None for a validation
    # model, which never saw its test slice
    learned_until: pd.Timestamp | None = None


class Tracker:
    """Talks to the tracking store of one workspace (or the configured server)."""

    def __init__(self, workspace: Path, config: Config):
        self.workspace = Path(workspace).resolve()
        self.config = config
        models = self.workspace / "models"
        if config.tracking.uri:
            self.uri = config.tracking.uri
        else:
            try:
                models.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise PotentialError(
                    f"{models}: cannot create the model store ({exc.strerror}); choose a writable --out."
                ) from exc
            self.uri = f"sqlite:///{models / 'mlflow.db'}"
        self.artifacts = (models / "artifacts").as_uri()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlflow.set_tracking_uri(self.uri)
            mlflow.set_registry_uri(self.uri)
            self.client = MlflowClient(self.uri, self.uri)

    # ------------------------------------------------------------------ experiments
    def experiment_id(self, create: bool = True) -> str | None:
        name = self.config.tracking.experiment
        exp = self.client.get_experiment_by_name(name)
        if exp is not None:
            return exp.experiment_id
        if not create:
            return None
        location = None if self.config.tracking.uri else f"{self.artifacts}/{name}"
        return self.client.create_experiment(name, artifact_location=location)

    # ------------------------------------------------------------------ training
    def log_training(
        self,
        results: dict[str, TargetResult],
        context: dict[str, Any],
        challenger_metric: Callable[[Champion, str], float | None],
        artifacts: dict[str, bytes] | None = None,
        parent_metrics: dict[str, float] | None = None,
        checkpoint: Callable[[], None] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Log one parent run with a child run per target x model, register the LightGBM models, apply the gate.

        `challenger_metric(champion, target)` scores an existing champion on this run's test slice (None if
        it cannot be scored fairly: another feature set, or a refitted champion that learned those outcomes;
        its recorded test metrics are used then), so the gate compares like with like.
        Returns per target: version, promoted (bool), reason.
        """
        exp = self.experiment_id()
        tags = {f"potential.{k}": str(v) for k, v in context.items()}
        tags["potential.code_version"] = code_version()
        decisions: dict[str, dict[str, Any]] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with mlflow.start_run(
                experiment_id=exp,
                run_name=f"train {context.get('as_of', '')}",
                tags={**tags, "potential.kind": "training"},
            ) as parent:
                mlflow.log_params(
                    {
                        "as_of": context.get("as_of"),
                        "horizon_days": context.get("horizon_days"),
                        "engine": context.get("engine", "pandas"),
                        "seed": self.config.seed,
                    }
                )
                mlflow.log_metrics(_finite(parent_metrics or {}))
                for name, data in (artifacts or {}).items():
                    _log_bytes(name, data)
                self._log_config()
                registered: dict[str, tuple[str, str]] = {}
                for target, result in results.items():
                    registered.update(
                        self._log_target(exp, parent.info.run_id, target, result, tags, context)
                    )
                metric = self.config.training.promotion.metric
                for target, result in results.items():
                    decisions[target] = self._gate(target, result, registered, metric, challenger_metric)
                mlflow.log_dict(decisions, "promotion.json")
                if checkpoint is not None:  # last chance to stop before anything in the registry moves
                    checkpoint()
        # aliases move only now that the parent run finished, all together: termination is held off meanwhile
        with _signals_deferred():
            for target, decision in decisions.items():
                names = [target] + (["uplift"] if target == "expansion" and "uplift" in registered else [])
                for name in names:
                    version = registered[name][1] if name == "uplift" else decision["version"]
                    alias = CHAMPION if decision["promoted"] else CHALLENGER
                    self.client.set_registered_model_alias(REGISTERED[name], alias, version)
        return decisions

    def _log_config(self) -> None:
        """The effective config (YAML) and the rating profile file, beside the digests in the tags."""
        mlflow.log_dict(self.config.model_dump(mode="json"), "config/config.yaml")
        profile = self.config.rating_profile_path()
        if profile.is_file():
            mlflow.log_artifact(str(profile), "config")

    def _log_target(
        self,
        exp: str,
        parent_id: str,
        target: str,
        result: TargetResult,
        tags: dict[str, str],
        context: dict[str, Any],
    ) -> dict[str, tuple[str, str]]:
        from potential.tracking import plots

        registered: dict[str, tuple[str, str]] = {}
        child_tags = {
            **tags,
            "mlflow.parentRunId": parent_id,
            "potential.kind": "model",
            "potential.target": target,
        }
        with mlflow.start_run(
            experiment_id=exp,
            run_name=f"{target} {result.model.label}",
            nested=True,
            tags={**child_tags, "potential.model": result.model.label, "potential.role": PUBLISHED},
        ) as run:
            mlflow.log_params({k: v for k, v in result.params.items() if not isinstance(v, dict | list)})
            mlflow.log_metrics(_finite(result.metrics))
            if result.tuning is not None:
                self._log_tuning(run.info.run_id, result.tuning)
            mlflow.log_dict(
                {
                    "features": list(result.model.spec.columns),
                    "categories": result.model.spec.to_dict()["categories"],
                },
                "features.json",
            )
            mlflow.log_table(result.calibration_table, "calibration_table.json")
            _log_bytes(
                "importance.png", plots.importance_png(result.importance, f"{target}: feature importance")
            )
            _log_bytes(
                "calibration.png",
                plots.calibration_png(result.calibration_table, f"{target}: calibration (test slice)"),
            )
            version = self._log_model(result.model, target, describe_model(target, result, context))
            registered[target] = (run.info.run_id, version)
        if result.uplift is not None:
            with mlflow.start_run(
                experiment_id=exp,
                run_name=f"expansion uplift {result.uplift.label}",
                nested=True,
                tags={
                    **child_tags,
                    "potential.model": result.uplift.label,
                    "potential.target": "uplift",
                    "potential.role": PUBLISHED,
                },
            ) as run:
                mlflow.log_metrics(_finite(result.uplift_metrics))
                description = describe_model("uplift", result, context)
                registered["uplift"] = (
                    run.info.run_id,
                    self._log_model(result.uplift, "uplift", description),
                )
        for baseline, metrics in result.baselines.items():
            with mlflow.start_run(
                experiment_id=exp,
                run_name=f"{target} {baseline}",
                nested=True,
                tags={**child_tags, "potential.model": baseline, "potential.role": "baseline"},
            ):
                mlflow.log_metrics(_finite(metrics))
        return registered

    def _log_tuning(self, run_id: str, tuning: TuningResult) -> None:
        """The parameter search behind the run's params: one `tuning_trial_roc_auc` value per trial (step =
        trial number), the trial count and best value as metrics, every trial in `tuning.json`, and tags
        saying what the trials were scored on and whether the time cap ended the search."""
        stamp = int(time.time() * 1000)
        metrics = [Metric(TUNING_TRIAL_METRIC, t.value, stamp, t.number) for t in tuning.trials]
        metrics += [
            Metric("tuning_trials", float(len(tuning.trials)), stamp, 0),
            Metric("tuning_best_roc_auc", tuning.value, stamp, 0),
            Metric("tuning_seconds", tuning.seconds, stamp, 0),
        ]
        self.client.log_batch(run_id, metrics=metrics)
        self.client.set_tag(run_id, "potential.tuning_validation", tuning.validation)
        self.client.set_tag(run_id, "potential.tuning_timed_out", str(tuning.timed_out).lower())
        mlflow.log_dict(tuning.summary(), "tuning.json")

    def _log_model(self, model: TrainedModel, name: str, description: str) -> str:
        """Register `model` as a pyfunc (raw feature table in, score out) with its booster and spec as artifacts.

        The booster text and the spec/calibrator JSON are also kept as plain artifacts of the run (`booster/`).
        """
        from potential.tracking import pyfunc

        with tempfile.TemporaryDirectory() as tmp:
            booster = Path(tmp) / "model.txt"
            booster.write_text(model.booster.model_to_string(), encoding="utf-8")
            meta = Path(tmp) / "potential.json"
            meta.write_text(json.dumps(model.metadata(), indent=1), encoding="utf-8")
            mlflow.log_artifact(str(booster), "booster")
            mlflow.log_artifact(str(meta), "booster")
            example = None if self._example is None else pyfunc.input_example(self._example, model)
            with contextlib.redirect_stderr(
                io.StringIO()
            ):  # registry chatter ("Successfully registered ...")
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=pyfunc.PotentialModel(model.target),
                    artifacts={pyfunc.BOOSTER: str(booster), pyfunc.METADATA: str(meta)},
                    signature=pyfunc.signature(model),
                    input_example=example,
                    metadata={"potential": {"target": model.target, "format": PYFUNC_FORMAT}},
                    registered_model_name=REGISTERED[name],
                    await_registration_for=0,
                    pip_requirements=_requirements(),
                )
        version = str(info.registered_model_version)
        self.client.update_model_version(REGISTERED[name], version, description)
        return version

    _example: pd.DataFrame | None = None

    def set_input_example(self, features: pd.DataFrame) -> None:
        self._example = features.head(5)

    def _gate(
        self,
        target: str,
        result: TargetResult,
        registered: dict[str, tuple[str, str]],
        metric: str,
        challenger_metric: Callable[[Champion, str], float | None],
    ) -> dict[str, Any]:
        version = registered[target][1]
        new = float(result.metrics.get(metric, float("nan")))
        current = self.champion(target)
        if current is None:
            return {
                "version": version,
                "promoted": True,
                "reason": "no champion yet",
                "metric": metric,
                "new": new,
            }
        old = challenger_metric(current, target)
        basis = "re-scored on this test slice"
        if old is None:
            old = float(current.metrics.get(metric, float("nan")))
            basis = "as recorded when it was trained"
        margin = self.config.training.promotion.min_delta
        promoted = bool(np.isfinite(new) and (not np.isfinite(old) or new > old + margin))
        reason = (
            f"{metric} {new:.4f} vs champion v{current.version} {old:.4f} ({basis}); "
            f"{'beats' if promoted else 'does not beat'} it by more than {margin:g}"
        )
        return {
            "version": version,
            "promoted": promoted,
            "reason": reason,
            "metric": metric,
            "new": new,
            "old": old,
        }

    # ------------------------------------------------------------------ registry
    def champion(self, target: str) -> Champion | None:
        """The champion of `target` (None if no version has the alias), loaded as `potential` scores with it."""
        name = REGISTERED[target]
        try:
            mv = self.client.get_model_version_by_alias(name, CHAMPION)
        except MlflowException:
            return None
        model = self.load_version(target, str(mv.version))
        run = self.client.get_run(mv.run_id) if mv.run_id else None
        metrics = dict(run.data.metrics) if run else {}
        refitted = run is not None and run.data.params.get("refit", "off") != "off"
        learned = pd.Timestamp(run.data.tags["potential.as_of"]) if refitted and run else None
        return Champion(target, model, str(mv.version), mv.run_id or "", metrics, learned)

    def load_version(self, target: str, version: str) -> TrainedModel:
        """One registered version as a `TrainedModel`: from the pyfunc's artifacts, or (workspaces trained
        before the pyfunc) from the LightGBM flavour and the metadata beside it."""
        name = REGISTERED[target]
        uri = f"models:/{name}/{version}"
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            info = mlflow.models.get_model_info(uri)
            meta = (info.metadata or {}).get("potential")
            if meta is None:
                raise PotentialError(
                    f"registered model {name} v{version} was not written by potential; promote another version "
                    f"(`potential models` lists them) or run `potential train` to register a new one."
                )
            if meta.get("format") == PYFUNC_FORMAT:
                from potential.tracking.pyfunc import PotentialModel

                wrapper = mlflow.pyfunc.load_model(uri).unwrap_python_model()
                if not isinstance(wrapper, PotentialModel) or wrapper.model is None:
                    raise PotentialError(
                        f"registered model {name} v{version} could not be loaded; run `potential train` to "
                        "register a new version."
                    )
                return wrapper.model
            if "lightgbm" in (info.flavors or {}) and "spec" in meta:  # registered before the pyfunc
                return TrainedModel.from_booster(mlflow.lightgbm.load_model(uri), meta)
        raise PotentialError(
            f"registered model {name} v{version} has a format this version of potential cannot read; run "
            "`potential train` to register a new version."
        )

    def champions(self) -> dict[str, Champion]:
        out = {}
        for target in REGISTERED:
            champ = self.champion(target)
            if champ is not None:
                out[target] = champ
        return out

    def promote(self, target: str, version: str | None = None) -> list[tuple[str, str]]:
        """Make `version` (default: the challenger) the champion of `target`; returns (target, version) of every
        model promoted. Promoting an expansion model brings the uplift regressor trained with it along."""
        name = REGISTERED[target]
        if version is None:
            try:
                version = str(self.client.get_model_version_by_alias(name, CHALLENGER).version)
            except MlflowException:
                raise PotentialError(
                    f"{name} has no challenger to promote ({self._listing(target)}); pass a version, e.g. "
                    f"`potential promote {target} <version>` (`potential models` lists them)."
                ) from None
        try:
            mv = self.client.get_model_version(name, str(version))
        except MlflowException as exc:
            raise PotentialError(
                f"{name} has no version {version} ({self._listing(target)}); see `potential models`."
            ) from exc
        promoted = [(target, str(version))]
        if target == "expansion":
            uplift = self._sibling(mv.run_id, "uplift")
            if uplift is not None:
                promoted.append(("uplift", uplift))
        with _signals_deferred():
            for which, v in promoted:
                self.client.set_registered_model_alias(REGISTERED[which], CHAMPION, v)
                with contextlib.suppress(MlflowException):
                    challenger = self.client.get_model_version_by_alias(REGISTERED[which], CHALLENGER)
                    if str(challenger.version) == v:
                        self.client.delete_registered_model_alias(REGISTERED[which], CHALLENGER)
        return promoted

    def _listing(self, target: str) -> str:
        versions = self.versions()
        mine = versions[versions["target"] == target].sort_values("version")
        if mine.empty:
            return "no versions registered yet; run `potential train`"
        shown = [f"v{r.version}" + (f" ({r.aliases})" if r.aliases else "") for r in mine.itertuples()]
        return "versions: " + ", ".join(shown)

    def _sibling(self, run_id: str | None, target: str) -> str | None:
        """The version of `target` registered by the same training run as the model run `run_id`."""
        if not run_id:
            return None
        parent = self.client.get_run(run_id).data.tags.get("mlflow.parentRunId")
        if not parent:
            return None
        for mv in self.client.search_model_versions(f"name = '{REGISTERED[target]}'"):
            if mv.run_id and self.client.get_run(mv.run_id).data.tags.get("mlflow.parentRunId") == parent:
                return str(mv.version)
        return None

    def versions(self) -> pd.DataFrame:
        rows = []
        for target, name in REGISTERED.items():
            try:
                found = self.client.search_model_versions(f"name = '{name}'")
            except MlflowException:
                continue
            try:
                aliases = dict(self.client.get_registered_model(name).aliases or {})
            except MlflowException:
                aliases = {}
            for mv in found:
                names = sorted(a for a, v in aliases.items() if str(v) == str(mv.version))
                rows.append(
                    {
                        "target": target,
                        "name": name,
                        "version": int(mv.version),
                        "run_id": mv.run_id,
                        "aliases": ",".join(names),
                    }
                )
        return pd.DataFrame(rows, columns=["target", "name", "version", "run_id", "aliases"])

    # ------------------------------------------------------------------ leaderboard
    def leaderboard(self) -> pd.DataFrame:
        """One row per model run (LightGBM and baselines), straight from the tracking store (no model loading)."""
        exp = self.experiment_id(create=False)
        columns = [
            "run_id",
            "parent_run_id",
            "started",
            "as_of",
            "target",
            "model",
            "roc_auc",
            "pr_auc",
            "lift_at_20",
            "brier",
            "engine",
            "status",
            "champion",
            "version",
        ]
        if exp is None:
            return pd.DataFrame(columns=columns)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs = mlflow.search_runs(
                [exp],
                filter_string="tags.`potential.kind` = 'model'",
                max_results=50000,
                order_by=["attributes.start_time DESC"],
            )
        if runs.empty:
            return pd.DataFrame(columns=columns)
        versions = self.versions()
        champion_runs = (
            set(versions.loc[versions["aliases"].str.contains(CHAMPION), "run_id"])
            if len(versions)
            else set()
        )
        out = pd.DataFrame(
            {
                "run_id": runs["run_id"],
                "started": pd.to_datetime(runs["start_time"]).dt.strftime("%Y-%m-%d %H:%M"),
                "as_of": runs.get("tags.potential.as_of"),
                "target": runs.get("tags.potential.target"),
                "model": runs.get("tags.potential.model"),
                "engine": runs.get("tags.potential.engine", pd.Series("pandas", index=runs.index)),
                "status": runs["status"],
                "parent_run_id": runs.get("tags.mlflow.parentRunId"),
            }
        )
        for metric in (*METRICS, "lift_at_10"):  # lift_at_10 for the model card's baselines
            column = f"metrics.{metric}"
            out[metric] = runs[column] if column in runs.columns else np.nan
        out["champion"] = out["run_id"].isin(champion_runs)
        by_run = (
            {r: f"v{v}" for r, v in zip(versions["run_id"], versions["version"], strict=True)}
            if len(versions)
            else {}
        )
        out["version"] = out["run_id"].map(by_run).fillna("")
        return out[columns + [c for c in out.columns if c not in columns]]

    def models(self) -> pd.DataFrame:
        """Every registered version: target, version, aliases, when and as of which date it was trained, how it
        scored on its test slice, and whether it is a pyfunc (raw features in) or a model of an older release."""
        versions = self.versions()
        rows = []
        for v in versions.itertuples():
            row: dict[str, Any] = {
                "target": v.target,
                "name": v.name,
                "version": int(v.version),
                "aliases": v.aliases,
                "run_id": v.run_id,
            }
            try:
                run = self.client.get_run(v.run_id) if v.run_id else None
                mv = self.client.get_model_version(v.name, str(v.version))
            except MlflowException:
                run, mv = None, None
            tags = run.data.tags if run else {}
            row["trained"] = (
                pd.Timestamp(run.info.start_time, unit="ms").strftime("%Y-%m-%d %H:%M") if run else ""
            )
            row["as_of"] = tags.get("potential.as_of", "")
            for metric in METRICS:
                row[metric] = run.data.metrics.get(metric, np.nan) if run else np.nan
            row["format"] = "pyfunc" if mv is not None and _is_pyfunc(mv) else "lightgbm (retrain for pyfunc)"
            row["description"] = (mv.description or "") if mv is not None else ""
            rows.append(row)
        columns = ["target", "name", "version", "aliases", "trained", "as_of", *METRICS, "format", "run_id"]
        frame = pd.DataFrame(rows, columns=[*columns, "description"])
        return frame.sort_values(["target", "version"], ascending=[True, False], ignore_index=True)

    # ------------------------------------------------------------------ evaluation (after training)
    def log_evaluation(
        self,
        results: dict[str, TargetResult],
        ts: TrainingSet,
        decisions: dict[str, dict[str, Any]],
        data: Path | None = None,
        digests: dict[str, str] | None = None,
    ) -> None:
        """Write the test-slice evaluation of each model into its run (`evaluation/`) and the input tables as
        MLflow datasets of the training run. Called once `log_training` has registered the models."""
        from potential.tracking.evaluation import evaluate_classifier, evaluate_uplift

        actions = self.config.ranking.actions
        thresholds = {
            "churn": (actions.save_min_churn_probability, "Save"),
            "expansion": (actions.grow_min_expansion_probability, "Grow"),
        }
        parent: str | None = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for target, result in results.items():
                run_id = self.client.get_model_version(
                    REGISTERED[target], decisions[target]["version"]
                ).run_id
                if not run_id:
                    continue
                parent = self.client.get_run(run_id).data.tags.get("mlflow.parentRunId", parent)
                threshold, rule = thresholds[target]
                self._write_evaluation(
                    run_id, evaluate_classifier(result, ts, threshold, rule, self.config.seed)
                )
                if result.uplift is not None and parent:
                    uplift = self._child(parent, "uplift")
                    if uplift is not None:
                        self._write_evaluation(uplift, evaluate_uplift(result, ts))
            if parent and digests:
                self.client.log_inputs(parent, datasets=_datasets(data, digests, "training"))

    def _child(self, parent: str, target: str) -> str | None:
        runs = self.client.search_runs(
            [self.experiment_id(create=False) or "0"],
            f"tags.`mlflow.parentRunId` = '{parent}' and tags.`potential.target` = '{target}' "
            f"and tags.`potential.role` = '{PUBLISHED}'",
        )
        return runs[0].info.run_id if runs else None

    def _write_evaluation(self, run_id: str, evaluation: Any) -> None:
        metrics = _finite(evaluation.metrics)
        if metrics:
            now = int(pd.Timestamp.now().timestamp() * 1000)
            self.client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
        if evaluation.files:
            with tempfile.TemporaryDirectory() as tmp:
                for name, data in evaluation.files.items():
                    (Path(tmp) / name).write_bytes(data)
                self.client.log_artifacts(run_id, tmp, "evaluation")

    # ------------------------------------------------------------------ inference (every rank)
    def log_inference(
        self,
        as_of: pd.Timestamp,
        champions: dict[str, Champion],
        ranked: pd.DataFrame,
        manifest: dict[str, Any],
        data: Path | None = None,
    ) -> list[str]:
        """One run per `rank`: as-of, input digests, champion versions, row counts, score distribution, tier and
        action counts, the manifest. Returns notes: a tracking store that refuses the run does not undo the
        files `rank` wrote, it is reported."""
        day = as_of.date().isoformat()
        metrics: dict[str, float] = {
            "accounts_ranked": float(len(ranked)),
            "rows_exported": float(manifest.get("rows", len(ranked))),
        }
        for column in ("tier", "action"):
            if column in ranked.columns:
                for value, count in ranked[column].value_counts().items():
                    metrics[f"{column}_{value}"] = float(count)
        if "status" in ranked.columns:
            for value, count in ranked["status"].value_counts().items():
                metrics[f"status_{value}"] = float(count)
        distribution = score_distribution(ranked)
        for column, stats in distribution.items():
            for stat, value in stats.items():
                metrics[f"{column}_{stat}"] = value
        params: dict[str, Any] = {
            "as_of": day,
            "horizon_days": manifest.get("horizon_days"),
            "format": manifest.get("format"),
        }
        params.update({f"{t}_version": c.version for t, c in champions.items()})
        params["filters"] = json.dumps(manifest.get("filters") or {}, sort_keys=True)
        tags = {
            "potential.kind": "inference",
            "potential.as_of": day,
            "potential.code_version": code_version(),
            "potential.config_digest": str(manifest.get("config_digest", self.config.digest())),
            **{f"potential.{t}_run_id": c.run_id for t, c in champions.items() if c.run_id},
        }
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exp = self.experiment_id()
                with mlflow.start_run(experiment_id=exp, run_name=f"rank {day}", tags=tags) as run:
                    mlflow.log_params(params)
                    mlflow.log_metrics(_finite(metrics))
                    mlflow.log_dict(manifest, "manifest.json")
                    mlflow.log_dict(distribution, "score_distribution.json")
                    digests = manifest.get("data_digests") or {}
                    if digests:
                        self.client.log_inputs(
                            run.info.run_id, datasets=_datasets(data, digests, "inference")
                        )
        except (MlflowException, OSError) as exc:
            return [f"MLflow: this rank was not logged in {self.uri} ({exc}); the target list is written."]
        return []


@contextlib.contextmanager
def _signals_deferred():
    """Hold SIGINT/SIGTERM until the block is done (a registry update is all or nothing for the user)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def describe_model(target: str, result: TargetResult, context: dict[str, Any]) -> str:
    """The model version's description: what it was trained on and how it scored on its test slice."""
    p = result.params
    rows = f"{p.get('n_train', 0):,} training, {p.get('n_calibration', 0):,} calibration, {p.get('n_test', 0):,} test rows"
    trained = (
        f"trained as of {context.get('as_of')} (horizon {context.get('horizon_days')} days) on {rows} "
        f"of (account, cutoff) snapshots, {len(result.model.spec.columns)} features; data digest "
        f"{context.get('data_digest')}, config digest {context.get('config_digest')}, engine {context.get('engine')}."
    )
    use = (
        "Input: the table `potential features --as-of ...` writes (categories as text; account_id ignored). "
    )
    if target == "uplift":
        m = result.uplift_metrics
        return (
            "Expected extra spend if the account expands (LightGBM regressor on log1p money, expanding rows only), "
            f"{trained} Test slice: MAE {m.get('mae', float('nan')):,.0f}, Spearman {m.get('spearman', float('nan')):.3f} "
            f"on {int(m.get('n', 0)):,} expanding rows. {use}Output: expected_uplift in the data's currency."
        )
    m = result.metrics
    model = result.model
    learner = (
        f"LightGBM blended with a logistic regression ({model.linear_weight:g} of the log-odds)"
        if model.label == "lightgbm+logistic"
        else "LightGBM"
    )
    if p.get("n_refit"):
        how = (
            f"{learner} validated on the slices below, then refitted on all {p['n_refit']:,} labelled rows "
            "with the validated tree count (probabilities: the model's own), "
        )
        measured = "Validation model on the test slice"
    else:
        how, measured = f"{learner}, {p.get('calibration')} calibration, ", "Test slice"
    return (
        f"P({target}) over the horizon: {how}{trained} {measured}: "
        f"ROC-AUC {m.get('roc_auc', float('nan')):.3f}, PR-AUC {m.get('pr_auc', float('nan')):.3f}, "
        f"lift@20% {m.get('lift_at_20', float('nan')):.2f}, Brier {m.get('brier', float('nan')):.4f}, "
        f"positive rate {m.get('positive_rate', float('nan')):.3f}. {use}Output: {target}_probability (calibrated)."
    )


def score_distribution(ranked: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Mean, quantiles and count of each score column of a ranked list (missing values left out)."""
    out: dict[str, dict[str, float]] = {}
    for column in SCORE_COLUMNS:
        if column not in ranked.columns:
            continue
        values = pd.to_numeric(ranked[column], errors="coerce").dropna()
        if values.empty:
            continue
        q = values.quantile([0.1, 0.5, 0.9]).to_numpy()
        out[column] = {
            "n": float(len(values)),
            "mean": float(values.mean()),
            "p10": float(q[0]),
            "p50": float(q[1]),
            "p90": float(q[2]),
            "max": float(values.max()),
        }
    return out


def _is_pyfunc(mv: Any) -> bool:
    """Whether a model version was registered as a pyfunc by this release (its tags or its MLmodel say so)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = mlflow.models.get_model_info(f"models:/{mv.name}/{mv.version}")
    except (MlflowException, OSError):
        return False
    return ((info.metadata or {}).get("potential") or {}).get("format") == PYFUNC_FORMAT


MAX_DIGEST = 36


def _datasets(data: Path | None, digests: dict[str, str], context: str) -> list[Any]:
    """The input tables as MLflow datasets (source: the data folder's file, digest: ours), by reference."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag

    out = []
    for table, digest in sorted(digests.items()):
        where = str(Path(data).resolve() / table) if data is not None else table
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            source = resolve_dataset_source(where)
        dataset = MetaDataset(source, name=table, digest=digest[:MAX_DIGEST])  # MLflow keeps 36 characters
        tags = [InputTag("mlflow.data.context", context), InputTag("potential.digest", digest)]
        out.append(DatasetInput(dataset._to_mlflow_entity(), tags=tags))
    return out


def _requirements() -> list[str]:
    """Pinned serving requirements, stated instead of inferred (inference spawns a slow subprocess)."""
    from importlib.metadata import version

    names = ("lightgbm", "numpy", "pandas", "scikit-learn", "scipy", "pydantic", "pyyaml", "pyarrow")
    return [f"{name}=={version(name)}" for name in names]


def _finite(metrics: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and np.isfinite(v)}


def _log_bytes(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        mlflow.log_artifact(str(path))


def code_version() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__
