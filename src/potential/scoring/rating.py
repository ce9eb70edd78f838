"""Rule-based rating profile ("classic major-account selling"), read from a YAML file sales ops edit.

Each criterion reads one attribute (an accounts column or a computed feature), turns its value into a
score s in [0, 1] with a rule, and carries a weight w > 0 and the sentence a manager reads:

- ``map``:        ``{type: map, values: {good: 1.0, fair: 0.5, poor: 0.0}}`` -- keys compared
                  case-insensitively after stripping spaces; a value not in the map is unknown.
- ``thresholds``: ``{type: thresholds, bins: [0.25, 0.5, 0.75], scores: [1.0, 0.7, 0.4, 0.1]}`` --
                  value < bins[0] -> scores[0], bins[0] <= value < bins[1] -> scores[1], ...,
                  value >= bins[-1] -> scores[-1]; non-numeric or infinite values are unknown.
- ``boolean``:    ``{type: boolean, true_score: 1.0, false_score: 0.0}`` -- accepts booleans, 1/0 and
                  yes/no, true/false, y/n, t/f (any case); anything else is unknown.

Scoring. With weights w_i, W = sum(w_i), and scores s_i::

    points_i     = 100 * (w_i / W) * (s_i - 0.5)
    rating_score = 50 + sum_i points_i                      (rounded to 1 decimal)

so every criterion moves the score by at most +-50 * w_i / W, all criteria at 0 give 0, all at 1 give 100,
and the score always lies in 0..100. A missing value (NaN, None, empty text, an unmapped category, or a
column the data does not have) is **unknown**: s_i is taken as the neutral 0.5, so it contributes exactly
0 points. Unknowns are counted (``rating_unknown``) and listed in the contributions with a sentence that
says so -- never silently scored as zero. Grades: the highest grade whose threshold the rounded score
reaches (``grades: {A: 75, B: 60, C: 45}``), else the fallback grade (D).

Sentences: ``sentence`` is shown when the criterion helps or is neutral (s >= 0.5), ``sentence_low``
(optional, defaults to ``sentence``) when it hurts (s < 0.5). ``{value}`` is replaced by the account's
value; thresholds rules may format it, e.g. ``{value:.0%}`` or ``{value:.1f}``.

Performance: each criterion is scored once per *distinct* value (``pd.factorize``) and broadcast back,
so 100k accounts x 25 criteria take well under a second or two.
"""

from __future__ import annotations

import difflib
import math
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from potential.config import read_yaml
from potential.errors import ConfigError

TRUE_WORDS = frozenset({"1", "true", "yes", "y", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "f"})
RULE_TYPES = ("map", "thresholds", "boolean")
NEUTRAL = 0.5
_FORMATTER = string.Formatter()

SCORE_COLUMNS = ("rating_score", "rating_grade", "rating_unknown")
CONTRIBUTION_COLUMNS = (
    "account_id",
    "criterion",
    "attribute",
    "value",
    "score",
    "points",
    "known",
    "sentence",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _key(value: Any) -> str | None:
    """The comparable form of one attribute value: stripped lower-case text; numbers without '.0'."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value).strip().lower()
    return text or None


def _check_score(score: float, what: str) -> float:
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        raise ValueError(f"{what} is {score!r}; scores must be numbers between 0 (bad) and 1 (good)")
    return float(score)


class MapRule(_Strict):
    """Category -> score, e.g. {good: 1.0, fair: 0.5, poor: 0.0}."""

    type: Literal["map"]
    values: dict[str, float]

    @field_validator("values", mode="before")
    @classmethod
    def _normalise(cls, values: Any) -> dict[str, float]:
        if not isinstance(values, Mapping) or not values:
            raise ValueError(
                "a map rule needs 'values:' with at least one 'category: score' pair, e.g. {good: 1.0, poor: 0.0}"
            )
        out: dict[str, float] = {}
        for raw, score in values.items():
            key = _key(raw)
            if key is None:
                raise ValueError(f"a map rule has an empty category ({raw!r}); every category needs a name")
            if key in out:
                raise ValueError(
                    f"category '{key}' appears twice in the map (categories ignore case and spaces)"
                )
            out[key] = _check_score(score, f"the score for '{raw}'")
        return out


class ThresholdRule(_Strict):
    """Numeric value -> score by bins: value < bins[0] -> scores[0], ..., value >= bins[-1] -> scores[-1]."""

    type: Literal["thresholds"]
    bins: tuple[float, ...]
    scores: tuple[float, ...]

    @field_validator("bins", mode="after")
    @classmethod
    def _increasing(cls, bins: tuple[float, ...]) -> tuple[float, ...]:
        if not bins:
            raise ValueError("bins is empty; give at least one bin edge, e.g. bins: [2, 5]")
        if not all(math.isfinite(b) for b in bins):
            raise ValueError(f"bins must be finite numbers, got {list(bins)}")
        if any(later <= earlier for earlier, later in zip(bins, bins[1:], strict=False)):
            raise ValueError(f"bins must be strictly increasing, got {list(bins)}")
        return bins

    @field_validator("scores", mode="after")
    @classmethod
    def _range(cls, scores: tuple[float, ...]) -> tuple[float, ...]:
        for i, score in enumerate(scores):
            _check_score(score, f"scores[{i}]")
        return scores

    @model_validator(mode="after")
    def _shape(self) -> ThresholdRule:
        if len(self.scores) != len(self.bins) + 1:
            raise ValueError(
                f"needs one score more than bins: {len(self.bins)} bins need {len(self.bins) + 1} scores, "
                f"got {len(self.scores)} (the first score is for values below the first bin, the last for "
                "values at or above the last bin)"
            )
        return self


class BooleanRule(_Strict):
    """yes/no -> score."""

    type: Literal["boolean"]
    true_score: float = 1.0
    false_score: float = 0.0
    # what the report's value column shows for true and false: a criterion named the other way round from
    # its attribute ("current customer" reading is_prospect) says "customer", not "no"
    true_label: str = Field("yes", min_length=1)
    false_label: str = Field("no", min_length=1)

    @field_validator("true_score", "false_score", mode="before")
    @classmethod
    def _range(cls, score: Any) -> float:
        return _check_score(score, "the score")


Rule = Annotated[MapRule | ThresholdRule | BooleanRule, Field(discriminator="type")]


class _Value:
    """What `{value}` formats to: the display text, or the number under a format spec (`{value:.0%}`)."""

    __slots__ = ("raw", "text")

    def __init__(self, raw: Any, text: str) -> None:
        self.raw = raw
        self.text = text

    def __format__(self, spec: str) -> str:
        return format(self.raw, spec) if spec else self.text

    def __str__(self) -> str:
        return self.text


class Criterion(_Strict):
    """One line of the profile: what it reads, how it scores, how much it counts, what a manager reads."""

    name: str = Field(min_length=1, pattern=r"^\S(.*\S)?$")
    attribute: str = Field(min_length=1)
    weight: float = Field(gt=0, allow_inf_nan=False)
    rule: Rule
    sentence: str = Field(min_length=1)
    sentence_low: str | None = Field(None, min_length=1)
    seed: str = ""
    optional: bool = False

    @field_validator("weight", mode="before")
    @classmethod
    def _not_bool(cls, weight: Any) -> Any:
        if isinstance(weight, bool):
            raise ValueError(f"weight is {weight!r}; it must be a positive number")
        return weight

    @field_validator("seed", mode="before")
    @classmethod
    def _seed(cls, seed: Any) -> Any:
        return f"{seed:03d}" if isinstance(seed, int) and not isinstance(seed, bool) else seed

    @model_validator(mode="after")
    def _sentences_format(self) -> Criterion:
        sample = _Value(1.0, "1") if isinstance(self.rule, ThresholdRule) else _Value("yes", "yes")
        for field in ("sentence", "sentence_low"):
            text = getattr(self, field)
            if text is None:
                continue
            try:
                text.format(value=sample)
            except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
                raise ValueError(
                    f"{field} {text!r} cannot be filled in ({type(exc).__name__}: {exc}); the only placeholder is "
                    "{value} (thresholds rules may format it, e.g. {value:.0%}); write {{ and }} for literal braces"
                ) from None
        return self

    @property
    def label(self) -> str:
        """The name as a heading: 'win_win' -> 'Win win'."""
        text = self.name.replace("_", " ").strip()
        return text[:1].upper() + text[1:]


class RatingProfile(_Strict):
    """A validated rating profile. Build it with `load_profile`."""

    name: str = "rating profile"
    description: str = ""
    criteria: tuple[Criterion, ...]
    grades: dict[str, float] = Field(default_factory=lambda: {"A": 75.0, "B": 60.0, "C": 45.0})
    fallback_grade: str = "D"
    source: str | None = Field(None, description="Set by load_profile: the file this profile came from.")

    @field_validator("criteria", mode="after")
    @classmethod
    def _some(cls, criteria: tuple[Criterion, ...]) -> tuple[Criterion, ...]:
        if not criteria:
            raise ValueError("the profile has no criteria")
        return criteria

    @field_validator("grades", mode="after")
    @classmethod
    def _grades(cls, grades: dict[str, float]) -> dict[str, float]:
        if not grades:
            raise ValueError("grades is empty; give thresholds such as {A: 75, B: 60, C: 45}")
        for grade, threshold in grades.items():
            if not grade.strip():
                raise ValueError("a grade has an empty name")
            if not 0 <= threshold <= 100:
                raise ValueError(
                    f"grade {grade}'s threshold is {threshold:g}; thresholds are rating scores 0..100"
                )
        if len(set(grades.values())) != len(grades):
            raise ValueError(
                f"two grades share a threshold ({grades}); give each grade its own minimum score"
            )
        return grades

    @model_validator(mode="after")
    def _unique(self) -> RatingProfile:
        first: dict[str, int] = {}
        for i, c in enumerate(self.criteria, start=1):
            if c.name in first:
                raise ValueError(
                    f"criterion '{c.name}' is defined twice (criteria #{first[c.name]} and #{i}); "
                    "give each criterion its own name or delete one"
                )
            first[c.name] = i
        if self.fallback_grade in self.grades:
            raise ValueError(
                f"fallback_grade '{self.fallback_grade}' is also in grades; use a grade below the last threshold"
            )
        return self

    @property
    def total_weight(self) -> float:
        return float(sum(c.weight for c in self.criteria))

    def max_points(self, criterion: str) -> float:
        """The most points one criterion can move the score by, either way (50 x its weight share)."""
        weight = next(c.weight for c in self.criteria if c.name == criterion)
        return 50.0 * weight / self.total_weight


# ---------------------------------------------------------------------------------------------- loading

_FIXES = {
    "name": "give the criterion a unique name, e.g. `name: culture_fit`",
    "attribute": "name the column it reads, e.g. `attribute: culture_fit`",
    "weight": "write a positive number, e.g. `weight: 3` (weights are relative to each other)",
    "rule": "use {type: map, values: {...}}, {type: thresholds, bins: [...], scores: [...]} or {type: boolean, ...}",
    "type": "use type: map, thresholds or boolean",
    "values": "write `values: {category: score, ...}` with scores between 0 and 1",
    "bins": "list the bin edges from low to high, e.g. `bins: [2, 5, 10]`",
    "scores": "give one score (0..1) per bin plus one, e.g. 3 bins -> 4 scores",
    "true_score": "use a score between 0 and 1",
    "false_score": "use a score between 0 and 1",
    "sentence": 'write what a manager reads, e.g. `sentence: "Culture fit: {value}"`',
    "sentence_low": "write what a manager reads when the criterion hurts, or delete the line",
    "seed": 'write the article id in quotes, e.g. `seed: "001"`',
    "optional": "write true or false",
    "grades": "write e.g. `grades: {A: 75, B: 60, C: 45}`",
    "criteria": "list the criteria under `criteria:`, each starting with `- name: ...`",
}
_CRITERION_KEYS = tuple(Criterion.model_fields)
_RULE_MODELS: dict[str, type[BaseModel]] = {
    "map": MapRule,
    "thresholds": ThresholdRule,
    "boolean": BooleanRule,
}
_PROFILE_KEYS = tuple(k for k in RatingProfile.model_fields if k != "source")


def load_profile(path: Path) -> RatingProfile:
    """Read and validate a rating profile; any problem raises ConfigError naming file, criterion and fix."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict) or not data:
        found = "an empty file" if data is None or data == {} else f"a {type(data).__name__}"
        raise ConfigError(
            f"{path}: a rating profile is a mapping with a 'criteria:' list, found {found}; "
            "start from the packaged configs/rating_profile.yaml."
        )
    try:
        return RatingProfile.model_validate({**data, "source": str(path)})
    except ValidationError as exc:
        problems = [_explain(err, data) for err in exc.errors()]
        unique = list(dict.fromkeys(problems))
        more = f" (and {len(unique) - 5} more problems)" if len(unique) > 5 else ""
        raise ConfigError(f"{path}: " + " | ".join(unique[:5]) + more) from None


def _explain(err: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """One pydantic error as 'criterion 'x', field 'weight': what is wrong; fix: what to do'."""
    loc = [p for p in err["loc"] if p not in RULE_TYPES]
    criteria = data.get("criteria") if isinstance(data.get("criteria"), list) else []
    where = "profile"
    field_path: list[Any] = list(loc)
    if len(loc) >= 2 and loc[0] == "criteria" and isinstance(loc[1], int):
        item = criteria[loc[1]] if loc[1] < len(criteria) else None
        name = item.get("name") if isinstance(item, dict) and item.get("name") else f"#{loc[1] + 1}"
        where = f"criterion '{name}'"
        field_path = loc[2:]
    fields = [str(p) for p in field_path if not isinstance(p, int)]
    field = fields[-1] if fields else ""
    dotted = ".".join(str(p) for p in field_path)
    got = err.get("input")
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed: tuple[str, ...] | None = None
        if len(field_path) == 1:
            allowed = _CRITERION_KEYS if where != "profile" else _PROFILE_KEYS
        elif where != "profile" and len(field_path) == 2 and field_path[0] == "rule":
            tag = next((p for p in err["loc"] if p in RULE_TYPES), None)
            allowed = tuple(_RULE_MODELS[tag].model_fields) if tag else None
        close = difflib.get_close_matches(field, allowed or (), n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        keys = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"{where}: unknown key '{dotted}'{hint}; fix: delete or correct it{keys}"
    if kind == "union_tag_invalid":
        tag = (err.get("ctx") or {}).get("tag", got)
        return f"{where}, field 'rule': unknown rule type '{tag}'; fix: {_FIXES['type']}"
    if kind == "union_tag_not_found":
        return f"{where}, field 'rule': the rule has no 'type'; fix: {_FIXES['type']}"
    if kind == "missing":
        return f"{where}: '{dotted}' is missing; fix: {_FIXES.get(field, 'add it')}"
    message = err["msg"].removeprefix("Value error, ")
    if field == "weight" and kind != "value_error":
        message = f"must be a positive number, got {got!r}"
    elif kind != "value_error":
        message = f"{message} (got {got!r})"
    label = f", field '{dotted}'" if dotted else ""
    if field == "rule" and kind == "value_error":  # the thresholds shape check
        fix = _FIXES["scores"]
    elif fields:
        fix = _FIXES.get(field) or _FIXES.get(fields[0], "")
    else:  # a whole criterion or the profile: our own messages already say what to do
        fix = "" if kind == "value_error" else _FIXES["criteria"]
    return f"{where}{label}: {message}" + (f"; fix: {fix}" if fix else "")


def profile_warnings(profile: RatingProfile, columns: Iterable[str]) -> list[str]:
    """Criteria whose attribute is not among `columns`, as notes for `validate` and the run card.

    Missing non-optional criteria count as unknown (0 points) for every account: that is worth acting on.
    Missing optional ones are informational.
    """
    available = {str(c) for c in columns}
    missing = [c for c in profile.criteria if c.attribute not in available]
    where = Path(profile.source).name if profile.source else "rating profile"
    required = [c for c in missing if not c.optional]
    optional = [c for c in missing if c.optional]
    notes = []
    if required:
        listed = ", ".join(f"'{c.name}' (column '{c.attribute}')" for c in required)
        notes.append(
            f"{where}: no data for {len(required)} {'criterion' if len(required) == 1 else 'criteria'}: {listed}; "
            "they will count as unknown (neutral, 0 points) for every account. Add the column to accounts, map your column name under data.columns.accounts in the "
            "config, or mark the criterion `optional: true` / delete it in the profile."
        )
    if optional:
        listed = ", ".join(f"'{c.name}' ({c.attribute})" for c in optional)
        notes.append(f"{where}: optional criteria without data (informational; scored as unknown): {listed}.")
    if len(missing) == len(profile.criteria):
        notes.append(
            f"{where}: none of the criteria has data, so every account's rating will be 50 (grade "
            f"{_grade(np.array([50.0]), profile)[0]})."
        )
    return notes


# ---------------------------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class RatingResult:
    """Per-account scores (index account_id: rating_score, rating_grade, rating_unknown) and the long
    contributions table (account_id, criterion, attribute, value, score, points, known, sentence)."""

    scores: pd.DataFrame
    contributions: pd.DataFrame


def _display(value: Any, rule: Rule) -> str:
    """How a known category is shown: booleans as yes/no, numbers without '.0', text stripped."""
    if isinstance(rule, BooleanRule):
        return rule.true_label if _key(value) in TRUE_WORDS else rule.false_label
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    key = _key(value)
    if isinstance(value, int | float | np.integer | np.floating) and key is not None:
        return key
    return str(value).strip()


def _number_texts(x: np.ndarray) -> np.ndarray:
    """Numbers shown compactly, vectorised: 3 -> '3', 0.4567 -> '0.46', 1234.5 -> '1234' (NaN -> '')."""
    finite = np.isfinite(x)
    big = np.abs(x) >= 100
    r = np.where(finite, np.where(big, np.round(x), np.round(x, 2)), 0.0)
    whole = finite & (r == np.trunc(r)) & (np.abs(r) < 1e15)
    out = np.full(len(x), "", dtype=object)
    out[whole] = r[whole].astype(np.int64).astype(str).astype(object)
    rest = finite & ~whole
    out[rest] = r[rest].astype(str).astype(object)
    return out


def _fill(template: str, numbers: np.ndarray | None, texts: np.ndarray) -> np.ndarray:
    """`template.format(value=...)` for many values at once: literals are added once per piece, a bare
    {value} takes the shown text, a formatted one ({value:.0%}) formats the number."""
    if numbers is None or any(conv for _, _, _, conv in _FORMATTER.parse(template)):
        return np.array(
            [
                template.format(value=_Value(t, t))
                if numbers is None
                else template.format(value=_Value(v, t))
                for v, t in zip(numbers if numbers is not None else texts, texts, strict=True)
            ],
            dtype=object,
        )
    out = np.full(len(texts), "", dtype=object)
    for literal, field, spec, _ in _FORMATTER.parse(template):
        if literal:
            out = out + literal
        if field is not None:
            out = out + (texts if not spec else np.array([format(v, spec) for v in numbers], dtype=object))
    return out


def _score_uniques(rule: Rule, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Scores of the distinct values (NaN = unknown) and, for thresholds, their numeric form."""
    if isinstance(rule, ThresholdRule):
        x = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(dtype=float)
        x = np.where(np.isfinite(x), x, np.nan)
        idx = np.searchsorted(np.asarray(rule.bins), x, side="right")
        scores = np.asarray(rule.scores, dtype=float)[np.minimum(idx, len(rule.scores) - 1)]
        return np.where(np.isnan(x), np.nan, scores), x
    keys = [_key(u) for u in uniques]
    if isinstance(rule, MapRule):
        return np.array(
            [rule.values.get(k, np.nan) if k is not None else np.nan for k in keys], dtype=float
        ), None
    return np.array(
        [
            rule.true_score if k in TRUE_WORDS else rule.false_score if k in FALSE_WORDS else np.nan
            for k in keys
        ],
        dtype=float,
    ), None


def _rate_criterion(
    c: Criterion, column: pd.Series | None, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One criterion for every row, scored once per distinct value.

    Returns the row scores (NaN = unknown), the row codes (into the next two arrays), and per distinct
    value the shown text and the sentence; the last slot of those is the missing value.
    """
    unknown = f"{c.label}: unknown (no '{c.attribute}' value)"
    if column is None:
        said = np.array([f"{c.label}: unknown (no '{c.attribute}' column in the data)"], dtype=object)
        return np.full(n, np.nan), np.zeros(n, dtype=np.intp), np.array([""], dtype=object), said
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    scores, numbers = _score_uniques(c.rule, uniques)
    known = ~np.isnan(scores)
    if numbers is not None:
        shown = _number_texts(numbers)
    else:
        shown = np.array(
            [_display(u, c.rule) if k else "" for u, k in zip(uniques, known, strict=True)], dtype=object
        )
    sentences = np.full(len(uniques), unknown, dtype=object)
    for template, rows in (
        (c.sentence, known & (scores >= NEUTRAL)),
        (c.sentence_low or c.sentence, known & (scores < NEUTRAL)),
    ):
        if rows.any():
            sentences[rows] = _fill(template, None if numbers is None else numbers[rows], shown[rows])
    for i in np.flatnonzero(~known):  # present but unusable values say why
        key = _key(uniques[i])
        if key is not None:
            why = "is not a number" if isinstance(c.rule, ThresholdRule) else "is not scored by the profile"
            sentences[i] = f"{c.label}: unknown ('{str(uniques[i]).strip()}' {why})"
    codes = np.where(codes < 0, len(uniques), codes)
    return (np.append(scores, np.nan)[codes], codes, np.append(shown, ""), np.append(sentences, unknown))


def _grade(score: np.ndarray, profile: RatingProfile) -> np.ndarray:
    grade = np.full(len(score), profile.fallback_grade, dtype=object)
    for name, threshold in sorted(
        profile.grades.items(), key=lambda kv: kv[1]
    ):  # ascending: higher overwrite
        grade = np.where(score >= threshold, name, grade)
    return grade


def _string_dtype() -> Any:
    """pandas' 'str' dtype held as Python strings: `take` copies pointers, not 2M+ Arrow strings."""
    try:
        return pd.StringDtype("python", na_value=np.nan)
    except TypeError:  # pandas < 2.3: plain object columns
        return object


_STR = _string_dtype()


def _strings(texts: list[np.ndarray], codes: np.ndarray) -> pd.Series:
    """A string column built by `take` from the distinct texts."""
    pool = np.concatenate(texts) if texts else np.array([], dtype=object)
    if _STR is object:
        return pd.Series(pool[codes], dtype=object)
    return pd.Series(pd.array(pool, dtype=_STR).take(codes))


def rate_accounts(profile: RatingProfile, frame: pd.DataFrame) -> RatingResult:
    """Rate every account (row of `frame`, index account_id) on every criterion. `frame` is not modified."""
    n = len(frame)
    index = pd.Index(frame.index, name="account_id")
    k = len(profile.criteria)
    total = profile.total_weight
    score = np.empty((k, n))
    codes = np.empty((k, n), dtype=np.intp)
    shown: list[np.ndarray] = []
    sentences: list[np.ndarray] = []
    offset = 0
    for i, c in enumerate(profile.criteria):
        column = frame[c.attribute] if c.attribute in frame.columns else None
        if isinstance(column, pd.DataFrame):  # duplicate column names: use the first
            column = column.iloc[:, 0]
        score[i], row_codes, texts, said = _rate_criterion(c, column, n)
        codes[i] = row_codes + offset
        offset += len(texts)
        shown.append(texts)
        sentences.append(said)
    weights = np.array([c.weight for c in profile.criteria])[:, None]
    points = 100.0 * weights / total * (np.nan_to_num(score, nan=NEUTRAL) - NEUTRAL)
    known = ~np.isnan(score)
    rating = np.clip(50.0 + points.sum(axis=0), 0.0, 100.0).round(1)
    scores = pd.DataFrame(
        {
            "rating_score": rating,
            "rating_grade": _grade(rating, profile),
            "rating_unknown": (~known).sum(axis=0).astype(int),
        },
        index=index,
    )
    # long table, account-major: each account's criteria together, in profile order
    flat = codes.T.ravel()
    names = np.tile(np.arange(k), n)
    contributions = pd.DataFrame(
        {
            "account_id": pd.Series(index.repeat(k), dtype=index.dtype).reset_index(drop=True),
            "criterion": _strings([np.array([c.name for c in profile.criteria], dtype=object)], names),
            "attribute": _strings([np.array([c.attribute for c in profile.criteria], dtype=object)], names),
            "value": _strings(shown, flat),
            "score": score.T.ravel(),
            "points": points.T.ravel(),
            "known": known.T.ravel(),
            "sentence": _strings(sentences, flat),
        },
        copy=False,
    )
    return RatingResult(scores=scores, contributions=contributions)
