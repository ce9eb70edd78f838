"""Rule-based rating profile (classic major-account selling), read from YAML that sales ops edit.

Each criterion reads one attribute (an account column or a feature), scores it in [0, 1] with a rule
(`map`, `thresholds` or `boolean`), and carries a weight and the sentence a manager sees.

Scoring: with weights w_i and scores s_i, a criterion contributes
    points_i = 100 x w_i / sum(w) x (s_i - 0.5)
and rating_score = 50 + sum(points_i), which lies in 0..100 (all criteria at 0 -> 0, all at 1 -> 100).
A missing value is *unknown*: s_i = 0.5, so it contributes exactly 0 points; unknowns are counted and listed,
never silently scored as zero. Grades come from thresholds in the profile (A >= 75, B >= 60, C >= 45, else D).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from potential.config import read_yaml
from potential.errors import ConfigError

TRUE_WORDS = {"1", "1.0", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "0.0", "false", "no", "n", "f"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MapRule(_Strict):
    type: Literal["map"]
    values: dict[str, float]

    @field_validator("values")
    @classmethod
    def _range(cls, values: dict[str, float]) -> dict[str, float]:
        if not values:
            raise ValueError("a map rule needs at least one value")
        for key, score in values.items():
            if not 0 <= score <= 1:
                raise ValueError(f"score {score} for '{key}' must be between 0 and 1")
        return {str(k).strip().lower(): float(v) for k, v in values.items()}


class ThresholdRule(_Strict):
    type: Literal["thresholds"]
    bins: tuple[float, ...]
    scores: tuple[float, ...]

    @model_validator(mode="after")
    def _shape(self) -> ThresholdRule:
        if len(self.scores) != len(self.bins) + 1:
            raise ValueError(f"needs one score more than bins ({len(self.bins)} bins, {len(self.scores)} scores)")
        if any(b >= a for b, a in zip(self.bins, self.bins[1:], strict=False)) or not self.bins:
            raise ValueError(f"bins must be strictly increasing, got {list(self.bins)}")
        if any(not 0 <= s <= 1 for s in self.scores):
            raise ValueError(f"scores must be between 0 and 1, got {list(self.scores)}")
        return self


class BooleanRule(_Strict):
    type: Literal["boolean"]
    true_score: float = Field(1.0, ge=0, le=1)
    false_score: float = Field(0.0, ge=0, le=1)


Rule = Annotated[MapRule | ThresholdRule | BooleanRule, Field(discriminator="type")]


class Criterion(_Strict):
    name: str = Field(min_length=1)
    attribute: str = Field(min_length=1)
    weight: float = Field(gt=0)
    rule: Rule
    sentence: str = Field(min_length=1, description="Shown to managers; {value} is replaced by the account's value.")
    seed: str = ""
    optional: bool = False


class RatingProfile(_Strict):
    criteria: tuple[Criterion, ...] = Field(min_length=1)
    grades: dict[str, float] = Field(default_factory=lambda: {"A": 75.0, "B": 60.0, "C": 45.0})
    fallback_grade: str = "D"

    @model_validator(mode="after")
    def _unique(self) -> RatingProfile:
        seen: set[str] = set()
        for c in self.criteria:
            if c.name in seen:
                raise ValueError(f"criterion '{c.name}' is defined twice")
            seen.add(c.name)
        return self


def load_profile(path: Path) -> RatingProfile:
    """Read and validate a rating profile; errors name the file, the criterion and the fix."""
    data = read_yaml(Path(path))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a rating profile is a mapping with a 'criteria:' list; see configs/rating_profile.yaml.")
    try:
        return RatingProfile.model_validate(data)
    except ValidationError as exc:
        problems = []
        criteria = data.get("criteria") if isinstance(data.get("criteria"), list) else []
        for err in exc.errors():
            loc = list(err["loc"])
            where = "profile"
            if len(loc) >= 2 and loc[0] == "criteria" and isinstance(loc[1], int):
                item = criteria[loc[1]] if loc[1] < len(criteria) else {}
                name = item.get("name", f"#{loc[1] + 1}") if isinstance(item, dict) else f"#{loc[1] + 1}"
                field = ".".join(str(p) for p in loc[2:] if p not in ("map", "thresholds", "boolean"))
                where = f"criterion '{name}'" + (f" {field}" if field else "")
            elif loc:
                where = ".".join(str(p) for p in loc)
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            problems.append(f"{where}: {message}")
        raise ConfigError(f"{path}: " + "; ".join(problems) + "; fix the profile (rule types: map, thresholds, boolean; "
                          "weights are positive numbers; scores between 0 and 1).") from None


def profile_warnings(profile: RatingProfile, columns: Iterable[str]) -> list[str]:
    """Criteria whose attribute is not in the data (they count as unknown for every account)."""
    available = set(columns)
    missing = [c for c in profile.criteria if c.attribute not in available]
    out = []
    required = [c for c in missing if not c.optional]
    optional = [c for c in missing if c.optional]
    if required:
        out.append("rating profile: no column for " + ", ".join(f"'{c.name}' ({c.attribute})" for c in required)
                   + "; these criteria count as unknown for every account (add the column or map it).")
    if optional:
        out.append("rating profile: optional criteria without data: " + ", ".join(c.name for c in optional) + ".")
    return out


@dataclass(frozen=True)
class RatingResult:
    scores: pd.DataFrame  # index account_id: rating_score, rating_grade, rating_unknown
    contributions: pd.DataFrame  # long: account_id, criterion, attribute, value, score, points, known, sentence


def _text(series: pd.Series) -> pd.Series:
    out = series.astype(object).where(series.notna(), None)
    return out.map(lambda v: None if v is None else str(v).strip().lower()).map(lambda v: None if v in ("", "nan", "none", "<na>") else v)


def _score(rule, values: pd.Series) -> np.ndarray:
    if isinstance(rule, MapRule):
        return _text(values).map(rule.values).to_numpy(dtype=float)
    if isinstance(rule, ThresholdRule):
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        idx = np.digitize(x, rule.bins, right=False)
        out = np.asarray(rule.scores, dtype=float)[np.minimum(idx, len(rule.scores) - 1)]
        return np.where(np.isnan(x), np.nan, out)
    text = _text(values)
    return np.where(text.isin(TRUE_WORDS), rule.true_score, np.where(text.isin(FALSE_WORDS), rule.false_score, np.nan)).astype(float)


def _display(values: pd.Series) -> np.ndarray:
    def show(v: object) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return ""
        if isinstance(v, float | np.floating):
            return f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}"
        return str(v)

    return np.array([show(v) for v in values.astype(object)], dtype=object)


def rate_accounts(profile: RatingProfile, frame: pd.DataFrame) -> RatingResult:
    """Score every account on every criterion; `frame` (index account_id) is not modified."""
    total_weight = sum(c.weight for c in profile.criteria)
    ids = frame.index.astype(str).to_numpy()
    n = len(frame)
    points_sum = np.zeros(n)
    unknown = np.zeros(n, dtype=int)
    parts = []
    for c in profile.criteria:
        column = frame[c.attribute] if c.attribute in frame.columns else pd.Series(np.nan, index=frame.index)
        score = _score(c.rule, column)
        known = ~np.isnan(score)
        points = np.where(known, 100.0 * c.weight / total_weight * (np.nan_to_num(score, nan=0.5) - 0.5), 0.0)
        points_sum += points
        unknown += ~known
        shown = _display(column)
        if isinstance(c.rule, BooleanRule):  # show booleans as words, whatever the encoding
            text = _text(column)
            shown = np.where(text.isin(TRUE_WORDS), "yes", np.where(text.isin(FALSE_WORDS), "no", shown)).astype(object)
        sentence = np.array([c.sentence.replace("{value}", v) if k else f"{c.name.replace('_', ' ').capitalize()}: unknown"
                             for v, k in zip(shown, known, strict=True)], dtype=object)
        parts.append(pd.DataFrame({"account_id": ids, "criterion": c.name, "attribute": c.attribute, "value": shown,
                                   "score": score, "points": np.round(points, 3), "known": known, "sentence": sentence}))
    score = np.clip(50.0 + points_sum, 0, 100).round(1)
    grades = sorted(profile.grades.items(), key=lambda kv: -kv[1])
    grade = np.full(n, profile.fallback_grade, dtype=object)
    for name, threshold in reversed(grades):
        grade = np.where(score >= threshold, name, grade)
    scores = pd.DataFrame({"rating_score": score, "rating_grade": grade, "rating_unknown": unknown},
                          index=pd.Index(ids, name="account_id"))
    contributions = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return RatingResult(scores, contributions)
