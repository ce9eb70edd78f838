"""LightGBM models with time validation, calibration, baselines and metrics. No I/O, no MLflow here.

- Early stopping and probability calibration use the calibration slice (time-later than every training row);
  metrics are computed on the test slice (the latest cutoffs), which neither training nor calibration saw.
- Parameter search (`training.tuning`, `potential.models.tuning`): trials train on the train slice and are
  scored on the calibration slice; the winner is the model that is calibrated, evaluated on the test slice
  and returned (so registered and promoted). The test slice never takes part in the search.
- Class imbalance: by default the booster optimises plain log loss and calibration maps its scores to
  probabilities; `training.class_weight: balanced` reweights positives instead (calibration still applies).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
from scipy.special import expit

from potential import interrupt
from potential.config import Config
from potential.errors import InsufficientDataError
from potential.features.history import positions_in
from potential.labels.training_set import SLICES, TrainingSet
from potential.models.linear import PENALTY_C, Design, LinearPart
from potential.models.tuning import TuningResult, tune

if TYPE_CHECKING:
    import lightgbm as lgb

# LightGBM, scikit-learn and scipy.stats are imported where they are used: together they take seconds to
# import, and commands that train nothing (features, validate) should not wait for them.

TARGETS = ("churn", "expansion")
ISOTONIC_MIN_POSITIVES = 300
UPLIFT = "uplift"


# --------------------------------------------------------------------------------------------- feature spec
_UNSAFE_IN_NAMES = re.compile(r'[\[\]{}":,\\\x00-\x1f]')  # LightGBM refuses JSON's special characters


def model_names(columns: Sequence[str]) -> tuple[str, ...]:
    """The names the booster knows the columns by: the user's names with the characters LightGBM refuses
    (brackets, braces, quotes, colons, commas, backslashes, control characters) replaced by '_', made
    unique. Ordinary names are unchanged, so reports and explanations keep showing the user's names."""
    out: list[str] = []
    seen: set[str] = set()
    for column in columns:
        name = _UNSAFE_IN_NAMES.sub("_", str(column)) or "_"
        base, k = name, 1
        while name in seen:
            k += 1
            name = f"{base}__{k}"
        seen.add(name)
        out.append(name)
    return tuple(out)


@dataclass(frozen=True)
class FeatureSpec:
    """The model's input contract: column order, numeric columns, categorical columns with their categories."""

    columns: tuple[str, ...]
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> FeatureSpec:
        cats = {
            c: tuple(str(v) for v in frame[c].cat.categories)
            for c in frame.columns
            if isinstance(frame[c].dtype, pd.CategoricalDtype)
        }
        return cls(tuple(frame.columns), cats)

    @property
    def model_columns(self) -> tuple[str, ...]:
        """The columns as the booster names them (`model_names`)."""
        return model_names(self.columns)

    @property
    def model_categories(self) -> list[str]:
        """The categorical columns as the booster names them."""
        names = dict(zip(self.columns, self.model_columns, strict=True))
        return [names[c] for c in self.categories]

    def encode(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A float matrix in training column order, under the booster's names (`model_columns`): categories
        as the training codes (unseen -> missing).

        Filled column by column into one block (the form LightGBM and the TreeSHAP reader take), not
        assembled from a column dict.
        """
        block = np.empty((len(self.columns), len(frame)), dtype=float)  # one row per column: contiguous
        for j, column in enumerate(self.columns):
            if column not in frame.columns:
                block[j] = np.nan
            elif column in self.categories:
                codes = self._codes(frame[column], self.categories[column])
                block[j] = np.where(codes < 0, np.nan, codes)
            else:
                block[j] = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        return pd.DataFrame(block.T, columns=list(self.model_columns), index=frame.index, copy=False)

    @staticmethod
    def _codes(values: pd.Series, categories: tuple[str, ...]) -> np.ndarray:
        """The training code of each value (-1: missing or unseen), looked up once per distinct value."""
        return positions_in(values, pd.Index(categories))

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "categories": {k: list(v) for k, v in self.categories.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(tuple(data["columns"]), {k: tuple(v) for k, v in data.get("categories", {}).items()})


# --------------------------------------------------------------------------------------------- calibration
@dataclass(frozen=True)
class Calibrator:
    method: str  # isotonic | sigmoid | identity
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    a: float = 1.0
    b: float = 0.0

    @classmethod
    def fit(cls, method: str, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        """Map raw scores to probabilities on the calibration slice; `auto` is isotonic with at least
        `ISOTONIC_MIN_POSITIVES` positive rows and sigmoid below (few positives: few isotonic steps, ties)."""
        if len(np.unique(y)) < 2:
            return cls("identity")
        if method == "auto":
            method = "isotonic" if np.sum(y == 1) >= ISOTONIC_MIN_POSITIVES else "sigmoid"
        from sklearn.isotonic import IsotonicRegression
        from sklearn.linear_model import LogisticRegression

        if method == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
            return cls("isotonic", tuple(map(float, iso.X_thresholds_)), tuple(map(float, iso.y_thresholds_)))
        logit = _logit(raw).reshape(-1, 1)
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(logit, y)
        return cls("sigmoid", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=float)
        if self.method == "isotonic":
            return np.interp(raw, self.x, self.y)
        if self.method == "sigmoid":
            return expit(self.a * _logit(raw) + self.b)
        return raw

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "x": list(self.x), "y": list(self.y), "a": self.a, "b": self.b}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        return cls(
            data["method"],
            tuple(data.get("x", ())),
            tuple(data.get("y", ())),
            data.get("a", 1.0),
            data.get("b", 0.0),
        )


def money_from_log(raw: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """The uplift regressor's prediction in money: its log(1 + uplift) back-transformed, times `scale`."""
    return np.maximum(np.expm1(raw), 0.0) * scale


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


# --------------------------------------------------------------------------------------------- models
@dataclass(frozen=True)
class TrainedModel:
    """A LightGBM booster plus what scoring needs: input spec and (for classifiers) the calibrator, and for a
    blended classifier its linear half (`potential.models.linear`)."""

    target: str  # churn | expansion | uplift
    booster: lgb.Booster
    spec: FeatureSpec
    calibrator: Calibrator | None  # None for the uplift regressor
    scale: float = 1.0  # the uplift regressor's back-transform to a mean (`train_uplift`); 1 for classifiers
    linear: LinearPart | None = None  # the blend's logistic regression (`training.linear_weight`)
    linear_weight: float = 0.0  # its share of the blended log-odds; the booster's is 1 - linear_weight

    @property
    def label(self) -> str:
        """What the model is, as the leaderboard and MLflow's `potential.model` tag name it: "lightgbm", or
        "lightgbm+logistic" for a blend."""
        return "lightgbm+logistic" if self.linear is not None and self.linear_weight > 0 else "lightgbm"

    def raw_encoded(self, X: pd.DataFrame | np.ndarray, n_jobs: int | None = None) -> np.ndarray:
        """The uncalibrated score of encoded rows (`FeatureSpec.encode`): the booster's probability, or for
        a blend the sigmoid of (1 - w) x booster log-odds + w x regression log-odds; the regressor's value."""
        threads = {} if n_jobs is None else {"num_threads": n_jobs}
        best = self.booster.best_iteration or None
        if self.linear is None:
            return np.asarray(self.booster.predict(X, num_iteration=best, **threads), dtype=float)
        trees = np.asarray(
            self.booster.predict(X, num_iteration=best, raw_score=True, **threads), dtype=float
        )
        w = self.linear_weight
        return expit((1.0 - w) * trees + w * self.linear.margin(np.asarray(X, dtype=float)))

    def raw(self, features: pd.DataFrame) -> np.ndarray:
        return self.raw_encoded(self.spec.encode(features))

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated probability (classifiers) or expected uplift in money (regressor)."""
        raw = self.raw(features)
        if self.calibrator is None:
            return money_from_log(raw, self.scale)
        return self.calibrator(raw)

    def metadata(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "spec": self.spec.to_dict(),
            "calibrator": None if self.calibrator is None else self.calibrator.to_dict(),
            "scale": self.scale,
            "linear": None if self.linear is None else self.linear.to_dict(),
            "linear_weight": self.linear_weight,
        }

    @classmethod
    def from_parts(cls, model_text: str, metadata: dict[str, Any]) -> TrainedModel:
        """The model from its booster's text and its `metadata()`."""
        import lightgbm as lgb

        return cls.from_booster(lgb.Booster(model_str=model_text), metadata)

    @classmethod
    def from_booster(cls, booster: lgb.Booster, metadata: dict[str, Any]) -> TrainedModel:
        calibrator = metadata.get("calibrator")
        linear = metadata.get("linear")
        return cls(
            metadata["target"],
            booster,
            FeatureSpec.from_dict(metadata["spec"]),
            None if calibrator is None else Calibrator.from_dict(calibrator),
            float(metadata.get("scale", 1.0)),
            None if linear is None else LinearPart.from_dict(linear),
            float(metadata.get("linear_weight", 0.0)),
        )


@dataclass(frozen=True)
class TargetResult:
    target: str
    model: TrainedModel
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    params: dict[str, Any]
    calibration_table: pd.DataFrame
    importance: pd.DataFrame
    test_index: pd.Index
    test_scores: np.ndarray
    uplift: TrainedModel | None = None
    uplift_metrics: dict[str, float] = field(default_factory=dict)
    tuning: TuningResult | None = None  # the parameter search that chose `params`, when it ran


def lgb_params(
    config: Config, objective: str, rows: int | None = None, positive_rate: float | None = None
) -> dict[str, Any]:
    """LightGBM parameters from the config for a booster fitted on `rows` training rows: larger leaves for a
    rare target (`positive_rate`, `training.min_leaf_positives`), shallow, regularised trees for a small table."""
    p = config.training.lightgbm
    params = {
        "objective": objective,
        "learning_rate": p.learning_rate,
        "num_leaves": p.num_leaves,
        "min_child_samples": p.min_child_samples,
        "bagging_fraction": p.subsample,
        "bagging_freq": p.subsample_freq,
        "feature_fraction": p.colsample_bytree,
        "lambda_l2": p.reg_lambda,
        "num_threads": p.n_jobs,
        "seed": config.seed,
        "deterministic": True,
        "force_col_wise": True,
        "verbosity": -1,
    }
    wanted = config.training.min_leaf_positives
    if rows is not None and positive_rate and wanted > 0:
        # never above 2% of the rows, so a small table still splits
        rare = min(math.ceil(wanted / positive_rate), rows // 50)
        params["min_child_samples"] = max(params["min_child_samples"], rare)
    if rows is not None and rows < config.training.small_data_rows:
        params["num_leaves"] = min(params["num_leaves"], 8)
        params["min_child_samples"] = max(params["min_child_samples"], 50)
        params["feature_fraction"] = min(params["feature_fraction"], 0.7)
        params["lambda_l2"] = max(params["lambda_l2"], 5.0)
    return params


def _fit_booster(
    X: pd.DataFrame,
    y: np.ndarray,
    X_val: pd.DataFrame,
    y_val: np.ndarray,
    params: dict[str, Any],
    config: Config,
    categorical: list[str],
    weight: np.ndarray | None = None,
) -> lgb.Booster:
    import lightgbm as lgb

    train = lgb.Dataset(X, y, weight=weight, categorical_feature=categorical or "auto", free_raw_data=False)
    valid = lgb.Dataset(X_val, y_val, reference=train, categorical_feature=categorical or "auto")
    return lgb.train(
        params,
        train,
        num_boost_round=config.training.lightgbm.n_estimators,
        valid_sets=[valid],
        callbacks=[
            lgb.early_stopping(config.training.early_stopping_rounds, verbose=False),
            interrupt.lightgbm_callback,
        ],
    )


def _check_positives(target: str, y: np.ndarray, config: Config, slice_name: str) -> None:
    positives = int(np.nansum(y))
    negatives = int(np.sum(y == 0))
    need = (
        config.training.min_positives
        if slice_name == "train"
        else max(3, config.training.min_positives // 10)
    )
    if positives < need or negatives < need:
        few = "positive" if positives < need else "negative"
        have = positives if few == "positive" else negatives
        t = config.time
        # the settings that change the count, most likely first
        if target == "expansion":
            way = "lower" if few == "positive" else "raise"
            settings = [
                f"{way} time.expansion_growth (now {t.expansion_growth:g}) or time.expansion_min_extra_orders "
                f"(now {t.expansion_min_extra_orders:g})",
                f"another time.horizon_days (now {t.horizon_days})",
            ]
        else:  # churn: a shorter window leaves more accounts without a purchase in it
            way = "shorter" if few == "positive" else "longer"
            settings = [f"a {way} --horizon-days (time.horizon_days, now {t.horizon_days})"]
        if slice_name == "train":
            settings.append(
                f"more training cutoffs with time.max_cutoffs (now {t.max_cutoffs}), or a shorter "
                f"time.cutoff_step_days (now {t.cutoff_step_days}) when the history is short"
            )
        else:
            settings.append(
                f"more cutoffs per validation slice with training.validation_cutoffs "
                f"(now {config.training.validation_cutoffs})"
            )
        settings.append(
            f"a lower training.min_positives (now {config.training.min_positives}) if you accept a weaker model"
        )
        raise InsufficientDataError(
            f"cannot train '{target}': the {slice_name} slice has {have} {few} row(s), at least {need} are needed; "
            f"settings that change the count, most likely first: {'; '.join(settings)} — or a longer history "
            "or more accounts."
        )


class Boosters(Protocol):
    """Fits the boosters on a training set's train slice, wherever that slice lives (see `train_target`)."""

    def train_labels(self, target: str) -> np.ndarray: ...

    def classifier(
        self,
        target: str,
        spec: FeatureSpec,
        params: dict[str, Any],
        config: Config,
        valid: tuple[pd.DataFrame, np.ndarray],
    ) -> lgb.Booster: ...

    def uplift_regressor(
        self,
        spec: FeatureSpec,
        params: dict[str, Any],
        config: Config,
        valid: tuple[pd.DataFrame, np.ndarray],
    ) -> lgb.Booster: ...

    def refit(
        self, target: str, spec: FeatureSpec, params: dict[str, Any], config: Config, rounds: int
    ) -> lgb.Booster:
        """The classifier fitted with `rounds` trees on every labelled row of every slice (`training.refit`)."""
        ...


class LocalBoosters:
    """Fits boosters in this process on the training set's own train slice (the pandas engine)."""

    def __init__(self, ts: TrainingSet):
        self.ts = ts

    def _train_rows(self, target: str) -> pd.Series:
        return (self.ts.slice == "train") & self.ts.labels[target].notna()

    def train_labels(self, target: str) -> np.ndarray:
        return self.ts.labels.loc[self._train_rows(target), target].to_numpy()

    def classifier(
        self,
        target: str,
        spec: FeatureSpec,
        params: dict[str, Any],
        config: Config,
        valid: tuple[pd.DataFrame, np.ndarray],
    ) -> lgb.Booster:
        mask = self._train_rows(target)
        y = self.ts.labels.loc[mask, target].to_numpy()
        return _fit_booster(
            spec.encode(self.ts.features[mask]),
            y,
            *valid,
            params,
            config,
            spec.model_categories,
            balanced_weights(y) if config.training.class_weight == "balanced" else None,
        )

    def uplift_regressor(
        self,
        spec: FeatureSpec,
        params: dict[str, Any],
        config: Config,
        valid: tuple[pd.DataFrame, np.ndarray],
    ) -> lgb.Booster:
        mask = (self.ts.slice == "train") & (self.ts.labels["expansion"] == 1)
        y = np.log1p(self.ts.labels.loc[mask, "uplift"].clip(lower=0).to_numpy())
        return _fit_booster(
            spec.encode(self.ts.features[mask]), y, *valid, params, config, spec.model_categories
        )

    def refit(
        self, target: str, spec: FeatureSpec, params: dict[str, Any], config: Config, rounds: int
    ) -> lgb.Booster:
        import lightgbm as lgb

        mask = self.ts.labels[target].notna()
        y = self.ts.labels.loc[mask, target].to_numpy()
        weight = balanced_weights(y) if config.training.class_weight == "balanced" else None
        categorical = spec.model_categories or "auto"
        rows = lgb.Dataset(
            spec.encode(self.ts.features[mask]), y, weight=weight, categorical_feature=categorical
        )
        return lgb.train(params, rows, num_boost_round=rounds, callbacks=[interrupt.lightgbm_callback])


def balanced_weights(y: np.ndarray, positive_rate: float | None = None) -> np.ndarray:
    """Row weights giving both classes half the total; `positive_rate` of the whole set when `y` is a part."""
    pos = float(np.mean(y)) if positive_rate is None else positive_rate
    return np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))


def train_target(
    ts: TrainingSet, target: str, config: Config, boosters: Boosters | None = None
) -> TargetResult:
    """Train the LightGBM classifier for `target` (+ the uplift regressor for expansion) and its baselines.

    `boosters` fits the boosters on the train slice; by default in this process on `ts`. A distributed
    engine passes its own (the train slice stays on the cluster; `ts` then holds the calibration and test
    slices and a sample of training rows for the baselines).
    """
    boosters = boosters or LocalBoosters(ts)
    y_all = ts.labels[target]
    rows = y_all.notna()
    slices = {name: (ts.slice == name) & rows for name in ("train", "calibration", "test")}
    y = {name: y_all[mask].to_numpy() for name, mask in slices.items()}
    y_train = boosters.train_labels(target)
    _check_positives(target, y_train, config, "train")
    for name in ("calibration", "test"):
        _check_positives(target, y[name], config, name)
    spec = FeatureSpec.from_frame(ts.features)
    X_cal = spec.encode(ts.features[slices["calibration"]])
    params = lgb_params(config, "binary", rows=len(y_train), positive_rate=float(np.nanmean(y_train)))
    tuning = tune_classifier(ts, target, spec, params, config, (X_cal, y["calibration"]))
    if tuning is None:
        booster = boosters.classifier(target, spec, params, config, (X_cal, y["calibration"]))
    else:
        params = tuning.params
        booster = (
            tuning.booster  # the best trial was fitted on these very rows: the final fit would repeat it
            if isinstance(boosters, LocalBoosters) and boosters.ts is ts and tuning.booster is not None
            else boosters.classifier(target, spec, params, config, (X_cal, y["calibration"]))
        )
    weight = config.training.linear_weight
    refit_linear = weight > 0 and config.training.refit
    regressions = LinearRows.of(ts, target, slices, spec, through="test" if refit_linear else "calibration")
    # The test slice measures the procedure that publishes (docs/design.md, "Validate, then refit"): under
    # training.refit the published regression learns every labelled row before its scoring date, so this
    # one learns every row before the test slice (train and calibration: their windows end before it starts).
    linear = fit_linear(regressions, "calibration" if refit_linear else "train", config)
    # in this order each regression starts near its optimum (`LinearRows`); then the design is let go,
    # before the refit's booster allocates its own copy of the rows
    published_linear = (
        fit_linear(regressions, "test", config) if linear is not None and refit_linear else None
    )
    baselines = train_baselines(ts, target, slices, y, spec, regressions)
    del regressions
    model = TrainedModel(target, booster, spec, None, linear=linear, linear_weight=weight if linear else 0.0)
    if config.training.refit:  # calibrated as the published model is (`refit_calibrator`)
        before_test = np.concatenate([y_train, y["calibration"]])
        calibrator = refit_calibrator(config, float(np.mean(before_test)))
    else:
        calibrator = Calibrator.fit(config.training.calibration, model.raw_encoded(X_cal), y["calibration"])
    model = replace(model, calibrator=calibrator)
    test_scores = model.predict(ts.features[slices["test"]])
    metrics = classification_metrics(y["test"], test_scores)
    rounds = int(booster.best_iteration or booster.current_iteration())
    metrics["best_iteration"] = float(rounds)
    refit_rows = 0
    if config.training.refit:
        labelled = np.concatenate([y_train, y["calibration"], y["test"]])
        refit_rows = len(labelled)
        model = replace(
            model,
            booster=boosters.refit(target, spec, params, config, rounds),
            calibrator=refit_calibrator(config, float(np.mean(labelled))),
            linear=published_linear,
        )
    importance = pd.DataFrame(  # of the booster that is published
        {"feature": list(spec.columns), "gain": model.booster.feature_importance("gain")}
    ).sort_values(["gain", "feature"], ascending=[False, True], ignore_index=True)
    result = TargetResult(
        target=target,
        model=model,
        metrics=metrics,
        baselines=baselines,
        params={
            **params,
            "num_boost_round": config.training.lightgbm.n_estimators,
            "calibration": config.training.calibration,
            "class_weight": config.training.class_weight,
            "n_train": int(len(y_train)),
            "n_calibration": int(len(y["calibration"])),
            "n_test": int(len(y["test"])),
            "refit": "every labelled cutoff" if refit_rows else "off",
            "linear_weight": model.linear_weight,
            "linear_penalty": config.training.linear_penalty if model.linear else "",
            "n_refit": refit_rows,
            "tuning": "off" if tuning is None else f"{len(tuning.trials)} trials on the {tuning.validation}",
        },
        calibration_table=calibration_table(y["test"], test_scores),
        importance=importance,
        test_index=ts.features.index[slices["test"].to_numpy()],
        test_scores=test_scores,
        tuning=None if tuning is None else replace(tuning, booster=None),
    )
    if target == "expansion" and ts.mode == "history":
        uplift, uplift_metrics = train_uplift(ts, slices, spec, config, boosters)
        result = TargetResult(**{**result.__dict__, "uplift": uplift, "uplift_metrics": uplift_metrics})
    return result


@dataclass
class LinearRows:
    """The logistic regressions' design over one target's labelled rows, ordered train, calibration, test.

    A training run fits three regressions on nested row sets: the blend's validation half (train and
    calibration under `training.refit`, else the train slice), its refit half (every slice) and the
    baseline (train and calibration). Each one's rows are a leading block of one matrix, filled once and
    never copied. The design's medians, scales and kept levels are learnt on the train slice
    (`linear.Design`), for all three.

    Each fit starts its solver where the previous one ended, the intercept moved by the change in the
    (weighted) positive rate's log-odds: on nested rows of one design that is a Newton step or two from
    its own optimum, against six or seven from zero; the first starts with its intercept at its rows'
    log-odds (a step fewer than from zero). The optimum is the same either way.
    """

    design: Design
    Z: np.ndarray
    y: np.ndarray
    ends: dict[str, int]  # slice -> number of rows up to and including it
    # the previous fit's solution (`Design.solution`) and the log-odds of its weighted positive rate
    _last: tuple[np.ndarray, float] | None = field(default=None, init=False, repr=False)

    @classmethod
    def of(
        cls, ts: TrainingSet, target: str, slices: dict[str, pd.Series], spec: FeatureSpec, through: str
    ) -> LinearRows:
        """The rows of `slices` (train, calibration, test: where `target` is known) up to `through`."""
        names = SLICES[: SLICES.index(through) + 1]
        order = np.concatenate([np.flatnonzero(slices[name].to_numpy()) for name in names])
        X = spec.encode(ts.features.iloc[order]).to_numpy()
        ends = dict(zip(names, np.cumsum([int(slices[name].sum()) for name in names]).tolist(), strict=True))
        design = Design.learn(X[: ends["train"]], category_levels(spec))
        return cls(design, design.matrix(X), ts.labels[target].to_numpy(dtype=float)[order], ends)

    def fit(self, through: str, penalty: float, weight: str | None = None) -> LinearPart | None:
        """The regression on the rows up to slice `through`, with the inverse L2 strength `penalty` and row
        weights by `weight` ("balanced" or None); None when those rows hold one class only."""
        n = self.ends[through]
        y = self.y[:n]
        if len(np.unique(y)) < 2:
            return None
        weights = balanced_weights(y) if weight == "balanced" else None
        rate = float(np.mean(y) if weights is None else np.sum(weights * y) / np.sum(weights))
        odds = math.log(rate / (1.0 - rate))
        if self._last is None:  # no coefficient yet: the intercept at the rows' log-odds
            start = np.zeros(len(self.design.slots) + 1)
            start[-1] = odds
        else:
            start = self._last[0].copy()
            start[-1] += odds - self._last[1]
        part = LinearPart.fit_design(self.design, self.Z[:n], y, weights, penalty, start)
        self._last = (self.design.solution(part), odds)
        return part


def fit_linear(rows: LinearRows, through: str, config: Config) -> LinearPart | None:
    """The blend's logistic regression (`potential.models.linear`) fitted on `rows` up to slice `through`,
    weighted as the booster is (`training.class_weight`), with the L2 strength of
    `training.linear_penalty`; None when `training.linear_weight` is 0 or the rows hold one class only."""
    if config.training.linear_weight <= 0:
        return None
    return rows.fit(through, config.training.linear_penalty, config.training.class_weight)


def _encoded_rows(
    ts: TrainingSet, target: str, rows: pd.Series, spec: FeatureSpec
) -> tuple[np.ndarray, np.ndarray]:
    """The encoded matrix and the 0/1 labels of `rows` of the training set where `target` is known."""
    known = rows & ts.labels[target].notna()
    return spec.encode(ts.features[known]).to_numpy(), ts.labels.loc[known, target].to_numpy(dtype=float)


def category_levels(spec: FeatureSpec) -> dict[int, int]:
    """Each categorical column's position in the encoded matrix -> its number of training categories."""
    return {j: len(spec.categories[c]) for j, c in enumerate(spec.columns) if c in spec.categories}


def refit_calibrator(config: Config, positive_rate: float) -> Calibrator:
    """Probabilities of a classifier refitted on every labelled row (`training.refit`).

    No rows are left out to calibrate it on, and a calibrator fitted on rows the booster has learned would
    be fitted to its in-sample sharpness. Log loss makes LightGBM's own output a probability (measured on
    the stand-ins: a lower Brier score than the validation model and its calibrator in every case), so it
    is kept; under `class_weight: balanced`, which trains on odds inflated by (1 - rate) / rate, the odds
    are scaled back by rate / (1 - rate), the prior-shift correction.
    """
    if config.training.class_weight != "balanced" or not 0.0 < positive_rate < 1.0:
        return Calibrator("identity")
    return Calibrator("sigmoid", a=1.0, b=math.log(positive_rate / (1.0 - positive_rate)))


def tune_classifier(
    ts: TrainingSet,
    target: str,
    spec: FeatureSpec,
    params: dict[str, Any],
    config: Config,
    valid: tuple[pd.DataFrame, np.ndarray],
) -> TuningResult | None:
    """Search the classifier's parameters (`potential.models.tuning`) when `training.tuning.enabled`.

    Trials are fitted in this process on the train rows `ts` holds (all of them with the pandas engine; the
    dask engine's client-side sample of them otherwise) and scored on the calibration slice; None when the
    search is off.
    """
    if not config.training.tuning.enabled:
        return None
    local = LocalBoosters(ts)
    if len(np.unique(local.train_labels(target))) < 2:
        return None  # a client-side sample without both classes: keep the configured parameters
    return tune(
        lambda candidate: local.classifier(target, spec, candidate, config, valid),
        valid[0],
        valid[1],
        params,
        config,
    )


def train_uplift(
    ts: TrainingSet,
    slices: dict[str, pd.Series],
    spec: FeatureSpec,
    config: Config,
    boosters: Boosters,
) -> tuple[TrainedModel, dict[str, float]]:
    """Regressor of the money gained when an account expands, trained on expanding rows only.

    It learns log(1 + uplift), which keeps a few very large accounts from dominating the fit, and predicts
    exp(.) - 1 times a scale fitted on the calibration slice (total actual / total back-transformed
    prediction): the back-transform of a log-scale mean lands near the median of a skewed amount, and
    P(expand) x this has to be an expected value of growing the account over the horizon, not a typical one.
    """
    expanded = ts.labels["expansion"] == 1
    parts = {}
    for name in ("calibration", "test"):
        m = slices[name] & expanded
        parts[name] = (
            spec.encode(ts.features[m]),
            np.log1p(ts.labels.loc[m, "uplift"].clip(lower=0).to_numpy()),
        )
    booster = boosters.uplift_regressor(spec, lgb_params(config, "regression"), config, parts["calibration"])
    best = booster.best_iteration or None
    X_cal, y_cal = parts["calibration"]  # encoded already: the booster's own predict, not TrainedModel's
    back = money_from_log(booster.predict(X_cal, num_iteration=best))
    scale = float(np.expm1(y_cal).sum() / back.sum()) if back.sum() > 0 else 1.0
    model = TrainedModel(UPLIFT, booster, spec, None, scale)
    X_test, y_test = parts["test"]
    pred = money_from_log(booster.predict(X_test, num_iteration=best), scale)
    actual = np.expm1(y_test)
    metrics = regression_metrics(actual, pred)
    metrics["scale"] = scale
    return model, metrics


# --------------------------------------------------------------------------------------------- baselines
@dataclass(frozen=True)
class LogisticBaseline:
    """The classic logistic regression: unweighted, L2 at C = 0.5, on the booster's own input matrix with the
    preprocessing of `potential.models.linear` (medians and missing flags, signed logs, standardised, one
    coefficient per category level seen 10+ times; rare, unseen and missing levels share one)."""

    spec: FeatureSpec
    part: LinearPart

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """[P(0), P(1)] per row, as scikit-learn's classifiers give them."""
        p = expit(self.part.margin(self.spec.encode(features).to_numpy()))
        return np.column_stack([1.0 - p, p])


def rule_scores(features: pd.DataFrame, target: str) -> np.ndarray | None:
    """Recency/RFM rule: quintile ranks of recency, frequency and monetary value (no learning)."""
    needed = ("days_since_last_purchase", "orders_365d", "spend_365d")
    if not all(c in features.columns for c in needed):
        return None
    recency = -features["days_since_last_purchase"].fillna(1e6)
    rfm = sum(
        np.ceil(s.rank(pct=True, method="average") * 5)
        for s in (recency, features["orders_365d"], features["spend_365d"])
    )
    rfm = rfm.to_numpy(dtype=float) / 15.0
    return 1.0 - rfm if target == "churn" else rfm


def fit_logistic(ts: TrainingSet, target: str, rows: pd.Series | None = None) -> LogisticBaseline:
    """The logistic-regression baseline for `target`, fitted on `rows` of the training set (default: the
    train and calibration slices, where the target is known). Score with `predict_proba(X)`."""
    spec = FeatureSpec.from_frame(ts.features)
    X, y = _encoded_rows(ts, target, ts.slice.isin(["train", "calibration"]) if rows is None else rows, spec)
    return LogisticBaseline(spec, LinearPart.fit(X, y, category_levels(spec), penalty=PENALTY_C))


def train_baselines(
    ts: TrainingSet,
    target: str,
    slices: dict[str, pd.Series],
    y: dict[str, np.ndarray],
    spec: FeatureSpec,
    rows: LinearRows,
) -> dict[str, dict[str, float]]:
    """The baselines' metrics on the test slice: the RFM rule, and the logistic regression fitted on the train
    and calibration slices (`rows`)."""
    out: dict[str, dict[str, float]] = {}
    X_test = ts.features[slices["test"]]
    rule = rule_scores(X_test, target)
    if rule is not None:
        out["rfm_rule"] = classification_metrics(y["test"], rule, probabilities=False)
    part = rows.fit("calibration", PENALTY_C)
    if part is not None:
        out["logistic"] = classification_metrics(
            y["test"], LogisticBaseline(spec, part).predict_proba(X_test)[:, 1]
        )
    return out


# --------------------------------------------------------------------------------------------- metrics
def lift_at(y: np.ndarray, scores: np.ndarray, share: float) -> tuple[float, float]:
    """Precision in the top `share` of scores and its lift over the base rate (ties broken stably)."""
    n = max(int(math.ceil(len(y) * share)), 1)
    order = np.argsort(-scores, kind="mergesort")[:n]
    precision = float(np.mean(y[order]))
    base = float(np.mean(y))
    return precision, precision / base if base > 0 else float("nan")


def classification_metrics(y: np.ndarray, scores: np.ndarray, probabilities: bool = True) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    y = np.asarray(y, dtype=float)
    scores = np.asarray(scores, dtype=float)
    out = {
        "roc_auc": float(roc_auc_score(y, scores)),
        "pr_auc": float(average_precision_score(y, scores)),
        "positive_rate": float(y.mean()),
        "n": float(len(y)),
    }
    for share, tag in ((0.1, "10"), (0.2, "20")):
        precision, lift = lift_at(y, scores, share)
        out[f"precision_at_{tag}"] = precision
        out[f"lift_at_{tag}"] = lift
    if probabilities:
        clipped = np.clip(scores, 1e-6, 1 - 1e-6)
        out["log_loss"] = float(log_loss(y, clipped, labels=[0, 1]))
        out["brier"] = float(brier_score_loss(y, scores))
    return out


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    if len(actual) < 3:
        return {}
    from scipy.stats import spearmanr

    rho = spearmanr(actual, predicted).statistic
    return {
        "mae": float(np.mean(np.abs(actual - predicted))),
        "spearman": float(rho),
        "total_ratio": float(predicted.sum() / actual.sum()) if actual.sum() > 0 else float("nan"),
        "n": float(len(actual)),
    }


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed rate in probability deciles of the test slice."""
    frame = pd.DataFrame({"y": y, "p": p})
    frame["bin"] = np.minimum((frame["p"] * bins).astype(int), bins - 1)
    table = (
        frame.groupby("bin")
        .agg(n=("y", "size"), predicted=("p", "mean"), observed=("y", "mean"))
        .reset_index()
    )
    table["range"] = [f"{b / bins:.1f}-{(b + 1) / bins:.1f}" for b in table["bin"]]
    return table[["range", "n", "predicted", "observed"]]
