"""Configuration: frozen pydantic models, loaded from YAML. The only module that reads YAML."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from potential.errors import ConfigError, echo

DEFAULT_CONFIG_PATH = Path("configs/default.yaml")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(StrictModel):
    """How to read the user's files: column names, date format, duplicates policy."""

    columns: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Per table, our column name -> the name in your file, e.g. "
        "{transactions: {account_id: cust_no, amount: net_value}}. Our names written in another case or "
        "spacing ('Account ID', 'UnitPrice') need no entry.",
    )
    date_format: str | None = Field(
        None,
        description="strftime format of the date columns (e.g. '%Y%m%d'), or dates written as numbers: "
        "'unix' (seconds since 1970-01-01 UTC), 'unix_ms' (milliseconds), 'excel' (a spreadsheet's day "
        "numbers, 45292 = 2024-01-01), 'days since 2020-01-01' (day numbers counted from that date: 1 = "
        "2020-01-02); ISO dates are read beside it; null = ISO / inferred.",
    )
    tables: dict[str, str] = Field(
        default_factory=dict,
        description="Per table, the file name stem if it is not the table name, e.g. {transactions: orders}.",
    )
    duplicate_rows: Literal["keep", "drop"] = Field(
        "keep",
        description="Exact duplicate rows in transactions/activities: keep them or drop them (always reported).",
    )
    blank_ids: Literal["drop", "refuse"] = Field(
        "drop",
        description="Rows of transactions/activities without an account id (sales to walk-in customers): "
        "leave them out, counted in a note, or refuse the file. A table where most rows have none is refused "
        "either way (the id column is likely mapped wrong); accounts and labels rows always need an id.",
    )
    row_ids: bool = Field(
        False,
        description="A profile table without an id column (one row per account, like a labelled churn table): "
        "each row's number in its file is its account id, as a spreadsheet numbers rows (the first data row "
        "is '2'). For accounts and labels read from one file, without transactions or activities; a file "
        "with an id column (account_id, or the one data.columns maps) keeps its ids.",
    )
    currency: str = Field(
        "", description="Currency symbol shown in reports (money is in the data's currency)."
    )
    decimal: Literal["auto", ".", ","] = Field(
        "auto",
        description="Decimal separator of number columns in CSV files: 'auto' decides per column from its "
        "values ('1.234,56' = decimal comma, '1,234.56' = decimal point) and refuses a column where every "
        "value could be either (like '1,234'); '.' or ',' says which it is.",
    )
    delimiter: Literal["auto", ",", ";", "\t", "|", "whitespace"] = Field(
        "auto",
        description="What separates the columns of CSV files: 'auto' reads it from each file's first line "
        "(the most frequent of , ; tab | outside quotes; runs of spaces when none of those is there but "
        "the line has several words or numbers; a .tsv file is tab-separated) and notes any other than the "
        "comma; or one of ',' ';' '\\t' '|' 'whitespace' (columns aligned with spaces) for every file.",
    )
    header: bool | Literal["auto"] = Field(
        "auto",
        description="Whether a CSV file's first line names its columns: 'auto' = yes when a cell of it is one "
        "of our column names, else unless one is a number or a date other than a bare year (the file starts "
        "with data, noted); true = every file has a header line; false = none has. A file without one "
        "names its columns column_1, column_2, ... in order, which data.columns maps "
        "(e.g. {transactions: {account_id: column_1, date: column_2, amount: column_4}}).",
    )
    encoding: str = Field(
        "auto",
        description="Text encoding of the CSV files: 'auto' = UTF-8 (a byte-order mark is fine; a file that "
        "is not valid UTF-8 is refused, never guessed), or a codec used for the whole file, e.g. 'cp1252' "
        "or 'latin-1'.",
    )
    cancellation_prefix: str | None = Field(
        None,
        description="Line-item exports: order ids starting with this text (e.g. 'C') cancel an order; their "
        "lines are returns (negative amounts) whatever the sign of their quantity. Needs an order_id column "
        "in transactions; null = no cancelling ids (negative quantities or amounts are returns either way).",
    )

    @field_validator("cancellation_prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("is empty; use null when order ids carry no cancellation mark, or e.g. 'C'")
        return value

    @field_validator("header", mode="before")
    @classmethod
    def _header(cls, value: object) -> object:
        if isinstance(value, bool) or value == "auto":
            return value
        raise ValueError("use auto, true (every file has a header line) or false (none has)")

    @field_validator("date_format")
    @classmethod
    def _date_directives(cls, value: str | None) -> str | None:
        if value is not None:
            check_date_format(value)
        return value

    @field_validator("encoding")
    @classmethod
    def _codec(cls, value: str) -> str:
        if value != "auto":
            check_codec(value)
        return value

    @field_validator("columns", "tables")
    @classmethod
    def _known_tables(cls, value: dict[str, Any]) -> dict[str, Any]:
        known = ("accounts", "transactions", "activities", "labels")
        for table in value:
            if table not in known:
                raise ValueError(f"unknown table '{table}'{_did_you_mean(table, known)}")
        return value


# strptime directives pandas understands (a '%-d' or '%e' from strftime documentation does not parse)
DATE_DIRECTIVES = frozenset("aAbBcdfGHIjmMpSuUVwWxXyYzZ%")


NUMBER_DATE_FORMATS = ("unix", "unix_ms", "excel")  # data.date_format names for dates written as numbers
# data.date_format for day numbers counted from a start date, as panel data writes them (DAY = 1, 2, ...)
DAYS_SINCE = re.compile(r"days since (\S+)")


def days_since(value: str) -> date | None:
    """The start date of a 'days since YYYY-MM-DD' date format (day 0), None for any other format."""
    match = DAYS_SINCE.fullmatch(value.strip())
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        raise ValueError(
            f"'{echo(value)}' needs the date day 0 stands for as YYYY-MM-DD, e.g. 'days since 2020-01-01'"
        ) from None


def check_date_format(value: str) -> None:
    """Raise ValueError naming the first directive of `value` that a date parser cannot use."""
    if value in NUMBER_DATE_FORMATS or days_since(value) is not None:
        return
    if not value.strip():
        raise ValueError("is empty; use null for ISO dates or a format such as '%d/%m/%Y'")
    i = 0
    while i < len(value):
        if value[i] == "%":
            if i + 1 == len(value):
                raise ValueError("ends with a lone '%'; write '%%' for a literal percent sign")
            if value[i + 1] not in DATE_DIRECTIVES:
                raise ValueError(
                    f"'%{echo(value[i + 1])}' is not a date directive; use directives such as %Y %m %d %H %M "
                    "(e.g. '%d/%m/%Y' or '%Y%m%d')"
                )
            i += 2
        else:
            i += 1
    if "%" not in value:
        raise ValueError(
            "has no % directive; write the format with directives, e.g. '%d/%m/%Y', or name dates written "
            "as numbers: " + ", ".join(NUMBER_DATE_FORMATS) + " or 'days since 2020-01-01'"
        )


def check_codec(value: str) -> None:
    """Raise ValueError unless `value` names a text encoding Python can decode."""
    import codecs

    try:
        info = codecs.lookup(value)
    except LookupError:
        raise ValueError(
            f"unknown encoding '{echo(value)}'; use auto (UTF-8) or a codec such as cp1252, latin-1, utf-16"
        ) from None
    if not getattr(info, "_is_text_encoding", True):
        raise ValueError(f"'{echo(value)}' is not a text encoding; use a codec such as cp1252 or latin-1")


class TimeConfig(StrictModel):
    """Snapshots and label definitions (docs/design.md section 2)."""

    horizon_days: int = Field(90, gt=0, le=3660, description="Label window length after each cutoff.")
    cutoff_step_days: int = Field(30, gt=0, le=366, description="Spacing of the rolling training cutoffs.")
    max_cutoffs: int = Field(
        12, gt=0, le=120, description="How many rolling cutoffs (latest first) to train on."
    )
    active_lookback_days: int = Field(
        180,
        gt=0,
        description="An account is 'active' at a cutoff if it bought within this many days before it.",
    )
    expansion_growth: float = Field(
        0.7,
        ge=0,
        description="Expansion: the account's buying level steps up inside the horizon to >= (1 + growth) x "
        "its level before (the year before, the recent months, last year's same window: the highest) "
        "and holds ...",
    )
    expansion_min_extra_orders: float = Field(
        0.5,
        ge=0,
        description="... and the extra spend over a horizon is worth at least this many of the account's "
        "average order-day of the trailing year (relative to the account, never a currency amount).",
    )

    @model_validator(mode="before")
    @classmethod
    def _replaced_keys(cls, value: Any) -> Any:
        if isinstance(value, dict) and "expansion_min_amount" in value:
            raise ValueError(
                "time.expansion_min_amount (a fixed currency amount) was replaced by "
                "time.expansion_min_extra_orders (the extra spend relative to the account's average order, "
                "default 0.5); remove expansion_min_amount and, if needed, set expansion_min_extra_orders"
            )
        return value


class FeatureConfig(StrictModel):
    windows: tuple[int, ...] = Field((30, 90, 180, 365, 730), description="History windows in days.")

    @field_validator("windows")
    @classmethod
    def _positive(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(w <= 0 for w in value):
            raise ValueError("windows must be a non-empty list of positive day counts")
        return tuple(sorted(set(value)))


class LightGBMParams(StrictModel):
    n_estimators: int = Field(
        600,
        gt=0,
        description="Most boosting rounds; early stopping on the calibration slice usually ends sooner.",
    )
    learning_rate: float = Field(0.03, gt=0, le=1, description="Shrinkage applied to each tree.")
    num_leaves: int = Field(
        15,
        ge=2,
        description="Most leaves per tree (capped at 8 below training.small_data_rows rows). 15 explains (TreeSHAP) "
        "2.6x faster than 31 at the same accuracy on the demo.",
    )
    min_child_samples: int = Field(
        40,
        ge=1,
        description="Fewest training rows in a leaf (raised to 50 below training.small_data_rows rows, and for a "
        "rare target by training.min_leaf_positives).",
    )
    subsample: float = Field(
        0.8, gt=0, le=1, description="Share of training rows drawn for each bagging round (bagging_fraction)."
    )
    subsample_freq: int = Field(
        1, ge=0, description="Redraw the bagged rows every this many trees; 0 = no bagging."
    )
    colsample_bytree: float = Field(
        0.8, gt=0, le=1, description="Share of feature columns drawn for each tree (feature_fraction)."
    )
    reg_lambda: float = Field(1.0, ge=0, description="L2 regularisation of the leaf values (lambda_l2).")
    n_jobs: int = Field(2, ge=1, description="LightGBM threads.")


class PromotionConfig(StrictModel):
    metric: Literal["roc_auc", "pr_auc", "lift_at_20"] = Field(
        "roc_auc",
        description="Test-slice metric the gate compares: a new model is re-scored against the champion on it.",
    )
    min_delta: float = Field(
        0.0,
        description="A new model becomes champion only if it beats the champion's metric by more than this.",
    )


class TuningConfig(StrictModel):
    enabled: bool = Field(
        False,
        description="Search the LightGBM parameters of the churn and expansion classifiers (Optuna TPE, seeded "
        "by `seed`) before the final fit. Each trial trains on the train slice and is scored by ROC-AUC on the "
        "calibration slice (the validation cutoffs before the test cutoffs); the test slice stays unseen, so "
        "the reported metrics and the promotion gate are still out of sample. Trial 0 is the configured "
        "`training.lightgbm` parameters. Off by default, from measurements: on the stand-ins of "
        "BENCHMARKS.md (bench_classic) and the demo portfolio the search moved test ROC-AUC by -0.004 to "
        "+0.011 (five of seven within +-0.003) while training took about as many times longer as there were "
        "trials (12 trials: the demo's churn model from 13 s to 57 s), which the demo and the test suite "
        "should not pay by default. Turn it on for a final model, or where the default parameters fit the data poorly.",
    )
    trials: int = Field(
        20,
        ge=1,
        le=500,
        description="Trials per target; this budget, not the clock, ends a normal search, so a seed and data "
        "give the same parameters on any machine.",
    )
    timeout_seconds: float = Field(
        600.0,
        gt=0,
        description="Safety net per target: stop the search after this many seconds even if trials remain "
        "(noted in the run and tagged in MLflow, since the result then depends on the machine's speed).",
    )


class TrainingConfig(StrictModel):
    validation_cutoffs: int = Field(2, ge=1, description="Latest cutoffs held out for time validation.")
    calibration: Literal["auto", "isotonic", "sigmoid"] = Field(
        "auto",
        description="With training.refit false, how the published model's scores become probabilities, "
        "fitted on the calibration slice: isotonic (monotone steps), sigmoid (Platt scaling), or auto: "
        "isotonic when the slice has at least 300 positive rows, sigmoid below (isotonic on few positives "
        "gives a handful of steps, so many accounts tie on the same probability). With refit the "
        "probabilities are the models' own (see training.refit).",
    )
    min_positives: int = Field(30, ge=1, description="Refuse to train a target with fewer positive rows.")
    early_stopping_rounds: int = Field(
        50,
        ge=1,
        description="Stop boosting after this many rounds without improvement on the calibration slice.",
    )
    class_weight: Literal["balanced", "none"] = Field(
        "none", description="'balanced' reweights classes; calibration corrects the probabilities either way."
    )
    refit: bool = Field(
        True,
        description="After time validation, the published classifier is refitted on every labelled cutoff "
        "(train, calibration and test slices: the latest outcomes, which matter most when the history is "
        "short) with the parameters and tree count validation chose, and the blend's regression with it; "
        "its probabilities are its own (log loss; the class-weight prior undone under 'balanced'). The test "
        "metrics are those of the validation model, built the same way up to the test slice (its regression "
        "learns the train and calibration slices), so they measure the procedure. false publishes the "
        "validation model, its regression learnt on the train slice and calibrated on the calibration slice "
        "(README, 'Models, tracking and promotion').",
    )
    linear_weight: float = Field(
        0.5,
        ge=0,
        lt=1,
        description="Blend each classifier with a logistic regression on the same features (missing values "
        "imputed and flagged, numbers log-scaled and standardised, categories one-hot; L2, "
        "`linear_penalty`), fitted on the same rows: the published log-odds are (1 - w) x the booster's + "
        "w x the regression's, calibrated as a booster's are, and the explanations add the regression's "
        "exact per-feature terms to TreeSHAP's. "
        "The two make different errors, so their average ranks better than either (BENCHMARKS.md, "
        "bench_backtest and bench_classic). 0 publishes the booster alone.",
    )
    linear_penalty: float = Field(
        0.02,
        gt=0,
        description="The blend's inverse L2 strength (scikit-learn's C; the logistic baseline's is 0.5). Nearly "
        "unpenalised, the regression gives correlated features (spend over nested windows) large opposite "
        "coefficients, and those became most accounts' reasons ('Spend in the last 180 days: 757,326 (churn "
        "risk -34.6 pts)'): with 0.5, 914 of the demo's 2,000 accounts showed such a spend-level reason, "
        "with 0.02 122 (8 with the booster alone). Ranking moved little (BENCHMARKS.md): demo world true "
        "churn -0.003 to -0.005, true expansion +0.002 to +0.019; stand-ins within 0.001 except retail "
        "expansion -0.007.",
    )
    min_leaf_positives: float = Field(
        0.0,
        ge=0,
        description="Leaves large enough to hold this many positive rows at the target's rate: a classifier's "
        "min_child_samples is raised to min_leaf_positives / positive rate, never above 2% of the training "
        "rows; 0 = off. With 12, a rare, noisy target (expansion at ~3% positives) gets leaves of ~400 rows: "
        "+0.012 expansion ROC-AUC against the demo world's true events, -0.012 on the retail stand-in's "
        "labels (README, 'Models, tracking and promotion').",
    )
    small_data_rows: int = Field(
        10_000,
        ge=0,
        description="Below this many training rows LightGBM grows shallow, regularised trees (num_leaves <= 8, "
        "min_child_samples >= 50, feature_fraction <= 0.7, lambda_l2 >= 5): deep trees overfit small tables. "
        "0 turns it off.",
    )
    lightgbm: LightGBMParams = Field(
        default_factory=LightGBMParams,
        description="LightGBM parameters of the classifiers and the uplift regressor.",
    )
    promotion: PromotionConfig = Field(
        default_factory=PromotionConfig, description="The gate: when a newly trained model becomes champion."
    )
    tuning: TuningConfig = Field(
        default_factory=TuningConfig,
        description="Hyperparameter search of the classifiers on the time-validation slices.",
    )


class TrackingConfig(StrictModel):
    uri: str | None = Field(None, description="MLflow tracking URI; null = sqlite under <workspace>/models.")
    experiment: str = Field(
        "potential", description="MLflow experiment that holds the training and rank runs."
    )


class ActionRules(StrictModel):
    save_min_churn_probability: float = Field(
        0.35,
        ge=0,
        le=1,
        description="Save: churn probability at least this (and saving worth more than growing).",
    )
    grow_min_expansion_probability: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Grow: expansion probability at least this, or at least grow_min_expansion_lift x the "
        "portfolio's average (the lower bar applies).",
    )
    grow_min_expansion_lift: float = Field(
        2.0,
        gt=0,
        description="Grow also applies at this multiple of the portfolio's average expansion probability: a "
        "real expansion is a rare event (a few % of accounts a quarter), so a fixed bar alone can leave a list "
        "without any Grow; the multiple is free of the portfolio's base rate.",
    )
    nurture_min_rating_score: float = Field(
        60.0,
        ge=0,
        le=100,
        description="Nurture: a rating score at least this with high-value potential (or a prospect).",
    )


class RankingConfig(StrictModel):
    growth_weight: float = Field(1.0, ge=0, description="Weight of P(expand) x expected uplift.")
    save_weight: float = Field(1.0, ge=0, description="Weight of P(churn) x revenue at risk.")
    rating_weight: float = Field(
        0.5,
        ge=0,
        le=1,
        description="priority x (1 + rating_weight x (rating_score - 50) / 50); 0 = models only.",
    )
    tier_shares: dict[str, float] = Field(
        default_factory=lambda: {"A": 0.2, "B": 0.3, "C": 0.5},
        description="Share of accounts per tier, best first (80/20: A is the top 20%).",
    )
    change_threshold: float = Field(
        0.25,
        gt=0,
        description="changes.csv lists an account whose tier or action changed since the previous list, or "
        "whose priority moved by more than this share of its previous priority (0.25 = 25%).",
    )
    drift_psi_threshold: float = Field(
        0.2,
        gt=0,
        description="A feature or score whose population stability index against the previous run reaches "
        "this is listed as drifted in the notes and the model card (0.1 = moderate shift, 0.25 = large).",
    )
    high_value_multiple: float = Field(10.0, gt=0, description="high_value: potential >= N x average deal.")
    actions: ActionRules = Field(
        default_factory=ActionRules,
        description="Thresholds of the action rules, first that applies: Save, Grow, Nurture, else Maintain.",
    )

    @field_validator("tier_shares")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        if not value or any(v <= 0 for v in value.values()):
            raise ValueError("tier_shares must map tier names to positive shares")
        if abs(sum(value.values()) - 1.0) > 1e-6:
            raise ValueError(f"tier_shares must add up to 1 (they add up to {sum(value.values()):g})")
        return value


class RatingConfig(StrictModel):
    profile: str | None = Field(
        None, description="Rating profile YAML; relative paths are read from the config file's folder."
    )


class ReportConfig(StrictModel):
    top_k: int = Field(50, ge=1, description="Account pages written by `report`.")
    segments: tuple[str, ...] | None = Field(
        None,
        description="Accounts-table columns the portfolio page breaks tiers, actions, value at stake and model "
        "quality down by; null = industry and region, where the accounts table has them. `rank` refuses a "
        "named column the accounts table lacks.",
    )

    @field_validator("segments")
    @classmethod
    def _distinct_names(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        names = tuple(str(v).strip() for v in value)
        if any(not n for n in names) or len(set(names)) != len(names):
            raise ValueError("segments must be distinct, non-empty column names of the accounts table")
        return names


class EngineConfig(StrictModel):
    """Where the heavy steps run. `engine: dask` (a plain name) is read as `engine: {kind: dask}`."""

    kind: Literal["pandas", "dask"] = Field(
        "pandas",
        description="pandas: everything in this process; dask: events and features on a Dask cluster.",
    )
    scheduler: str | None = Field(
        None,
        description="dask only: address of a running scheduler (tcp://host:8786); null = a local cluster.",
    )
    workers: int = Field(
        2, ge=1, le=512, description="dask only: worker processes of the local cluster (one thread each)."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value


class Config(StrictModel):
    seed: int = Field(
        42, description="One seed for every random choice: same data + config + seed = same outputs."
    )
    engine: EngineConfig = Field(
        default_factory=EngineConfig, description="Execution engine (pandas or dask)."
    )
    data: DataConfig = Field(
        default_factory=DataConfig, description="How to read your files: column and file names, formats."
    )
    time: TimeConfig = Field(
        default_factory=TimeConfig,
        description="Horizon, training cutoffs and the churn/expansion definitions.",
    )
    features: FeatureConfig = Field(
        default_factory=FeatureConfig, description="Point-in-time feature windows."
    )
    training: TrainingConfig = Field(
        default_factory=TrainingConfig,
        description="Validation, calibration, LightGBM and the promotion gate.",
    )
    tracking: TrackingConfig = Field(
        default_factory=TrackingConfig, description="Where MLflow keeps runs and the model registry."
    )
    ranking: RankingConfig = Field(
        default_factory=RankingConfig, description="Priority weights, tiers, high value and the action rules."
    )
    rating: RatingConfig = Field(
        default_factory=RatingConfig, description="The rule-based rating profile (docs/design.md section 5)."
    )
    report: ReportConfig = Field(default_factory=ReportConfig, description="The HTML report.")
    source: str | None = Field(None, description="Set by the loader: the file this config came from.")

    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        """A new config with dotted keys replaced (`{"time.horizon_days": 60}`); None values are ignored."""
        data = self.model_dump()
        for dotted, value in overrides.items():
            if value is None:
                continue
            node = data
            *parents, leaf = dotted.split(".")
            for key in parents:
                node = node[key]
            node[leaf] = value
        return _validate(data, self.source or "command line")

    def digest(self) -> str:
        """Stable hash of the effective config (for lineage).

        The engine counts by its kind only: where a cluster runs or how many workers it has is not lineage.
        """
        data = self.model_dump(mode="json", exclude={"source"})
        data["engine"] = self.engine.kind
        payload = json.dumps(data, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def rating_profile_path(self) -> Path:
        """Where the rating profile is: the configured file, or the packaged default."""
        if self.rating.profile:
            path = Path(self.rating.profile)
            if not path.is_absolute() and self.source and Path(self.source).exists():
                path = Path(self.source).parent / path
            return path
        return packaged_resource("rating_profile.yaml")


def packaged_resource(name: str) -> Path:
    return Path(str(resources.files("potential") / "resources" / name))


def read_yaml(path: Path) -> Any:
    """Safe-load one YAML file; every YAML in the product is read here."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: file not found; check the path or drop the option to use the default.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: cannot be read as UTF-8 text ({exc}); save it as a UTF-8 YAML file."
        ) from exc
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, path)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"{path}: not valid YAML{where} ({echo(problem)}); fix the indentation or quoting there."
        ) from exc
    except RecursionError:
        raise ConfigError(
            f"{path}: the YAML is nested too deeply to be a config; flatten it (a config is a few levels deep)."
        ) from None
    finally:
        loader.dispose()


# A config or rating profile is a few hundred values. YAML anchors (&a) and aliases (*a) may reuse parts,
# but a document whose aliases expand to more than this many values is refused before it is built
# ("billion laughs": a few hundred bytes that expand to gigabytes when printed or walked).
MAX_YAML_VALUES = 100_000


def _check_expansion(root: yaml.Node, path: Path) -> None:
    """Refuse a YAML document whose aliases expand beyond MAX_YAML_VALUES values, or that contains itself."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_YAML_VALUES:
                raise ConfigError(
                    f"{path}: its anchors and aliases (&name / *name) expand to more than "
                    f"{MAX_YAML_VALUES:,} values; write the values out (a config needs a few hundred)."
                )
            continue
        if key in open_nodes:
            mark = node.start_mark
            raise ConfigError(
                f"{path}: an alias at line {mark.line + 1} refers to a value that contains it (a loop); "
                "write the values out instead of the alias."
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _did_you_mean(name: str, options: Any) -> str:
    close = difflib.get_close_matches(str(name), [str(o) for o in options], n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that owns the field at `loc` (for 'did you mean')."""
    model: type[BaseModel] = Config
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            return None
    return model


def _validate(data: Any, source: str) -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping of keys (seed:, time:, ...), not a {type(data).__name__}."
        )
    try:
        return Config.model_validate({**data, "source": source})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            dotted = ".".join(str(p) for p in loc)
            dotted = echo(dotted)
            if err["type"] == "extra_forbidden":
                model = _model_at(loc)
                hint = _did_you_mean(echo(loc[-1]), model.model_fields) if model else ""
                problems.append(f"unknown key '{dotted}'{hint}")
            else:
                # the input is echoed bounded: it may be a huge string or an alias-built structure
                given = err.get("input")
                shown = repr(echo(given)) if isinstance(given, str) else echo(given)
                problems.append(f"'{dotted}': {echo(err['msg'], 300)} (got {shown})")
        raise ConfigError(
            f"{source}: "
            + "; ".join(problems)
            + "; fix the key(s) above (see configs/default.yaml for every option)."
        ) from None


def load_config(path: Path | str | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
    """Load a config file (or ./configs/default.yaml, or built-in defaults) and apply CLI overrides."""
    if path is None:
        path = DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.exists() else None
    config = Config() if path is None else _validate(read_yaml(Path(path)), str(path))
    return config.with_overrides(overrides or {})
