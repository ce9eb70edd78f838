"""MLflow: experiments, runs, the model registry and the leaderboard. The only module that imports mlflow.

Embedded default: tracking and registry in sqlite at <workspace>/models/mlflow.db, artifacts under
<workspace>/models/artifacts. `tracking.uri` in the config points at a server instead.
Aliases: `champion` (what `rank` scores with) and `challenger` (registered, not promoted). Aliases move only
after the whole training succeeded; a failed or killed run is marked FAILED and moves nothing.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from potential import __version__
from potential.config import Config
from potential.errors import PotentialError
from potential.models.training import TargetResult, TrainedModel

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("MLFLOW_TRACKING_INSECURE_TLS", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
import mlflow  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

for _name in ("mlflow", "alembic", "mlflow.store", "mlflow.models", "mlflow.utils"):
    logging.getLogger(_name).setLevel(logging.ERROR)

REGISTERED = {
    "churn": "potential-churn",
    "expansion": "potential-expansion",
    "uplift": "potential-expansion-uplift",
}
CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass(frozen=True)
class Champion:
    target: str
    model: TrainedModel
    version: str
    run_id: str
    metrics: dict[str, float]


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
        challenger_metric: Callable[[TrainedModel, str], float | None],
        artifacts: dict[str, bytes] | None = None,
        parent_metrics: dict[str, float] | None = None,
        checkpoint: Callable[[], None] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Log one parent run with a child run per target x model, register the LightGBM models, apply the gate.

        `challenger_metric(model, target)` scores an existing champion on this run's test slice (None if it
        cannot be scored, e.g. another feature set), so the gate compares like with like.
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
                registered: dict[str, tuple[str, str]] = {}
                for target, result in results.items():
                    registered.update(self._log_target(exp, parent.info.run_id, target, result, tags))
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

    def _log_target(
        self, exp: str, parent_id: str, target: str, result: TargetResult, tags: dict[str, str]
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
            run_name=f"{target} lightgbm",
            nested=True,
            tags={**child_tags, "potential.model": "lightgbm"},
        ) as run:
            mlflow.log_params({k: v for k, v in result.params.items() if not isinstance(v, dict | list)})
            mlflow.log_metrics(_finite(result.metrics))
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
            version = self._log_model(result.model, target)
            registered[target] = (run.info.run_id, version)
        if result.uplift is not None:
            with mlflow.start_run(
                experiment_id=exp,
                run_name="expansion uplift lightgbm",
                nested=True,
                tags={**child_tags, "potential.model": "lightgbm", "potential.target": "uplift"},
            ) as run:
                mlflow.log_metrics(_finite(result.uplift_metrics))
                registered["uplift"] = (run.info.run_id, self._log_model(result.uplift, "uplift"))
        for baseline, metrics in result.baselines.items():
            with mlflow.start_run(
                experiment_id=exp,
                run_name=f"{target} {baseline}",
                nested=True,
                tags={**child_tags, "potential.model": baseline},
            ):
                mlflow.log_metrics(_finite(metrics))
        return registered

    def _log_model(self, model: TrainedModel, name: str) -> str:
        example = model.spec.encode(pd.DataFrame(columns=list(model.spec.columns))).head(0)
        sample = self._example
        if sample is not None:
            example = model.spec.encode(sample)
        signature = infer_signature(example, model.raw(sample) if sample is not None else None)
        with contextlib.redirect_stderr(io.StringIO()):  # registry chatter ("Successfully registered ...")
            info = mlflow.lightgbm.log_model(
                model.booster,
                name="model",
                signature=signature,
                input_example=example.head(3) if len(example) else None,
                metadata={"potential": model.metadata()},
                registered_model_name=REGISTERED[name],
                await_registration_for=0,
                pip_requirements=_requirements(),
            )
        return str(info.registered_model_version)

    _example: pd.DataFrame | None = None

    def set_input_example(self, features: pd.DataFrame) -> None:
        self._example = features.head(5)

    def _gate(
        self,
        target: str,
        result: TargetResult,
        registered: dict[str, tuple[str, str]],
        metric: str,
        challenger_metric: Callable[[TrainedModel, str], float | None],
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
        old = challenger_metric(current.model, target)
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
        name = REGISTERED[target]
        try:
            mv = self.client.get_model_version_by_alias(name, CHAMPION)
        except MlflowException:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            uri = f"models:/{name}@{CHAMPION}"
            booster = mlflow.lightgbm.load_model(uri)
            info = mlflow.models.get_model_info(uri)
        meta = (info.metadata or {}).get("potential")
        if meta is None:
            raise PotentialError(
                f"registered model {name} v{mv.version} was not written by potential; promote another version."
            )
        run = self.client.get_run(mv.run_id) if mv.run_id else None
        metrics = dict(run.data.metrics) if run else {}
        model = TrainedModel(meta["target"], booster, _spec_from(meta), _calibrator_from(meta))
        return Champion(target, model, str(mv.version), mv.run_id or "", metrics)

    def champions(self) -> dict[str, Champion]:
        out = {}
        for target in REGISTERED:
            champ = self.champion(target)
            if champ is not None:
                out[target] = champ
        return out

    def promote(self, target: str, version: str) -> None:
        name = REGISTERED[target]
        try:
            self.client.get_model_version(name, str(version))
        except MlflowException as exc:
            raise PotentialError(
                f"{name} has no version {version}; see `potential compare` for versions."
            ) from exc
        self.client.set_registered_model_alias(name, CHAMPION, str(version))

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
            "oracle_roc_auc",
            "engine",
            "status",
            "champion",
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
        for metric in ("roc_auc", "pr_auc", "lift_at_20", "brier", "oracle_roc_auc", "mae", "spearman"):
            column = f"metrics.{metric}"
            out[metric] = runs[column] if column in runs.columns else np.nan
        out["champion"] = out["run_id"].isin(champion_runs)
        return out


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


def _spec_from(meta: dict[str, Any]):
    from potential.models.training import FeatureSpec

    return FeatureSpec.from_dict(meta["spec"])


def _calibrator_from(meta: dict[str, Any]):
    from potential.models.training import Calibrator

    return None if meta.get("calibrator") is None else Calibrator.from_dict(meta["calibrator"])


def _requirements() -> list[str]:
    """Pinned serving requirements, stated instead of inferred (inference spawns a slow subprocess)."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("lightgbm", "numpy", "pandas", "scikit-learn")]


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
