"""Rating profile: loading and validation, rules, scoring arithmetic, unknowns, sentences, contracts."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from potential.config import packaged_resource
from potential.errors import ConfigError
from potential.scoring.rating import (
    CONTRIBUTION_COLUMNS,
    SCORE_COLUMNS,
    MapRule,
    RatingProfile,
    ThresholdRule,
    load_profile,
    profile_warnings,
    rate_accounts,
)

ROOT = Path(__file__).resolve().parents[2]

# Attributes docs/design.md section 5 asks the profile to cover (seeds 000, 001, 003, 004).
SEED_ATTRIBUTES = {
    "is_prospect",
    "growth_trend",
    "reputation",
    "collaboration",
    "commitment",
    "potential_multiple",
    "openness",
    "buyer_orientation",
    "business_health",
    "sophistication",
    "culture_fit",
    "decision_location",
    "product_suitability",
    "executive_sponsor",
    "distinct_contacts_365d",
    "acquired_by_competitor",
    "peer_spend_percentile",
    "referral_value",
    "influence_value",
    "knowledge_value",
}


@pytest.fixture(scope="module")
def profile() -> RatingProfile:
    return load_profile(packaged_resource("rating_profile.yaml"))


def frame_of(rows: dict[str, dict], **columns) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "account_id"
    return frame.assign(**columns)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def one_criterion(rule: str, sentence: str = "Fit: {value}", extra: str = "") -> str:
    return (
        "criteria:\n  - name: fit\n    attribute: x\n    weight: 1\n"
        f"    rule: {rule}\n    sentence: '{sentence}'\n{extra}"
    )


def best_and_worst(profile: RatingProfile) -> tuple[dict, dict]:
    """Per attribute, a value that scores highest and one that scores lowest under the profile's rules."""
    best, worst = {}, {}
    for c in profile.criteria:
        rule = c.rule
        if isinstance(rule, MapRule):
            best[c.attribute] = max(rule.values, key=rule.values.get)
            worst[c.attribute] = min(rule.values, key=rule.values.get)
        elif isinstance(rule, ThresholdRule):
            edges = [rule.bins[0] - 1, *rule.bins]  # a value in every bin: below the first, then each edge
            best[c.attribute] = edges[int(np.argmax(rule.scores))]
            worst[c.attribute] = edges[int(np.argmin(rule.scores))]
        else:
            best[c.attribute] = "yes" if rule.true_score >= rule.false_score else "no"
            worst[c.attribute] = "no" if rule.true_score >= rule.false_score else "yes"
    return best, worst


# ---------------------------------------------------------------------------------------------- the packaged profile


def test_packaged_profile_loads_and_covers_the_seeds(profile):
    assert len(profile.criteria) >= 18
    assert {c.seed for c in profile.criteria} >= {"000", "001", "003", "004"}
    assert {c.attribute for c in profile.criteria} >= SEED_ATTRIBUTES
    assert profile.grades == {"A": 75, "B": 60, "C": 45} and profile.fallback_grade == "D"
    assert all(c.sentence and c.weight > 0 for c in profile.criteria)
    feature_columns = {
        "is_prospect",
        "peer_spend_percentile",
        "distinct_contacts_365d",
        "exec_contacts_180d",
        "spend_trend_365d",
        "potential_multiple",
        "days_since_last_activity",
    }
    assert all(c.optional for c in profile.criteria if c.attribute in feature_columns)


def test_configs_copy_is_identical_to_the_packaged_profile():
    assert (ROOT / "configs" / "rating_profile.yaml").read_bytes() == packaged_resource(
        "rating_profile.yaml"
    ).read_bytes()


def test_profile_is_frozen(profile):
    with pytest.raises(Exception, match="frozen"):
        profile.criteria[0].weight = 99


# ---------------------------------------------------------------------------------------------- bad profiles

GOOD = {
    "name": "name: fit",
    "attribute": "attribute: culture_fit",
    "weight": "weight: 2",
    "rule": "rule: {type: map, values: {good: 1.0, poor: 0.0}}",
    "sentence": "sentence: 'Culture fit: {value}'",
}
BAD = {
    "non_numeric_weight": (
        {"weight": "weight: heavy"},
        r"criterion 'fit', field 'weight': must be a positive number, got 'heavy'; fix",
    ),
    "negative_weight": (
        {"weight": "weight: -2"},
        r"criterion 'fit', field 'weight': must be a positive number, got -2",
    ),
    "zero_weight": ({"weight": "weight: 0"}, r"criterion 'fit', field 'weight'"),
    "bins_not_increasing": (
        {"rule": "rule: {type: thresholds, bins: [3, 1], scores: [0, 0.5, 1]}"},
        r"criterion 'fit', field 'rule.bins': bins must be strictly increasing.*fix",
    ),
    "scores_bins_mismatch": (
        {"rule": "rule: {type: thresholds, bins: [1, 2], scores: [0, 1]}"},
        r"criterion 'fit'.*needs one score more than bins: 2 bins need 3 scores, got 2.*fix",
    ),
    "unknown_rule_type": (
        {"rule": "rule: {type: fuzzy, values: {a: 1}}"},
        r"criterion 'fit', field 'rule': unknown rule type 'fuzzy'; fix: use type: map, thresholds or boolean",
    ),
    "rule_without_type": (
        {"rule": "rule: {values: {a: 1}}"},
        r"criterion 'fit', field 'rule': the rule has no 'type'",
    ),
    "map_score_above_1": (
        {"rule": "rule: {type: map, values: {good: 2.0}}"},
        r"criterion 'fit'.*'good' is 2.0.*between 0 .* and 1",
    ),
    "threshold_score_below_0": (
        {"rule": "rule: {type: thresholds, bins: [1], scores: [-0.1, 1]}"},
        r"criterion 'fit'.*scores\[0\] is -0.1.*between 0",
    ),
    "boolean_score_above_1": (
        {"rule": "rule: {type: boolean, true_score: 3}"},
        r"criterion 'fit'.*true_score.*between 0",
    ),
    "unknown_key": (
        {"extra": "colour: red"},
        r"criterion 'fit': unknown key 'colour'; fix: delete or correct it; allowed keys",
    ),
    "misspelt_key": (
        {"extra": "optinal: true"},
        r"criterion 'fit': unknown key 'optinal' \(did you mean 'optional'\?\)",
    ),
    "misspelt_rule_key": (
        {"rule": "rule: {type: boolean, true_sore: 1}"},
        r"criterion 'fit': unknown key 'rule.true_sore' \(did you mean 'true_score'\?\)",
    ),
    "missing_attribute": ({"attribute": ""}, r"criterion 'fit': 'attribute' is missing; fix"),
    "bad_placeholder": (
        {"sentence": "sentence: 'Fit {val}'"},
        r"criterion 'fit': sentence 'Fit \{val\}' cannot be filled in",
    ),
    "number_format_on_text": (
        {"sentence": "sentence: 'Fit {value:.0%}'"},
        r"criterion 'fit': sentence .* cannot be filled in",
    ),
    "category_twice": (
        {"rule": "rule: {type: map, values: {good: 1, ' GOOD': 0}}"},
        r"criterion 'fit'.*'good' appears twice",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_profile_names_file_criterion_and_fix(tmp_path, case):
    changes, pattern = BAD[case]
    lines = {**GOOD, **changes}
    text = "criteria:\n  - " + "\n    ".join(line for line in lines.values() if line) + "\n"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=pattern) as info:
        load_profile(path)
    assert str(path) in str(info.value)


def test_duplicate_criterion_is_named(tmp_path):
    one = "  - {name: fit, attribute: culture_fit, weight: 1, sentence: Fit, rule: {type: boolean}}\n"
    path = write(tmp_path, "criteria:\n" + one + one)
    with pytest.raises(
        ConfigError, match=r"criterion 'fit' is defined twice \(criteria #1 and #2\).*own name"
    ):
        load_profile(path)


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = write(tmp_path, "criteria:\n  - name: fit\n    rule: {type: map, values: [good\n")
    with pytest.raises(ConfigError, match=r"profile.yaml: not valid YAML at line \d+"):
        load_profile(path)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("", r"found an empty file"),
        ("- fit\n", r"a rating profile is a mapping with a 'criteria:' list, found a list"),
        ("criteria: []\n", r"the profile has no criteria"),
        ("criterai: []\n", r"unknown key 'criterai' \(did you mean 'criteria'\?\)"),
        ("criteria:\n  - fit\n", r"criterion '#1'.*valid dictionary"),
        ("grades: {A: 120}\n" + one_criterion("{type: boolean}"), r"grade A's threshold is 120"),
    ],
)
def test_bad_profile_shapes(tmp_path, text, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_profile(write(tmp_path, text))


def test_missing_profile_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_profile(tmp_path / "nope.yaml")


def test_lenient_spellings_are_normalised(tmp_path):
    text = one_criterion("{type: map, values: {1: 0.0, 5: 1.0, ' Good ': 0.5}}", extra="    seed: 001\n")
    c = load_profile(write(tmp_path, text)).criteria[0]
    assert c.rule.values == {"1": 0.0, "5": 1.0, "good": 0.5}
    assert c.seed == "001"


# ---------------------------------------------------------------------------------------------- rules


def single(tmp_path, rule: str, values: list, **kw) -> pd.DataFrame:
    profile = load_profile(write(tmp_path, one_criterion(rule, **kw)))
    frame = pd.DataFrame(
        {"x": np.array(values, dtype=object)},
        index=pd.Index([f"a{i}" for i in range(len(values))], name="account_id"),
    )
    return rate_accounts(profile, frame).contributions


def test_map_rule_ignores_case_and_spaces_and_unmapped_is_unknown(tmp_path):
    c = single(
        tmp_path,
        "{type: map, values: {good: 1.0, fair: 0.5, poor: 0.0}}",
        ["good", " GOOD ", "Poor", "excellent", 5],
    )
    assert c["score"].iloc[:3].tolist() == [1.0, 1.0, 0.0]
    assert c["known"].tolist() == [True, True, True, False, False]
    assert c["value"].tolist() == ["good", "GOOD", "Poor", "", ""]
    assert "'excellent' is not scored by the profile" in c["sentence"].iloc[3]


def test_map_rule_on_numbers(tmp_path):
    c = single(tmp_path, "{type: map, values: {1: 0.0, 5: 1.0}}", [5, 5.0, "5", 1, 3])
    assert c["score"].iloc[:4].tolist() == [1.0, 1.0, 1.0, 0.0] and not c["known"].iloc[4]


def test_thresholds_rule_bins(tmp_path):
    rule = "{type: thresholds, bins: [0.25, 0.5, 0.75], scores: [1.0, 0.7, 0.4, 0.1]}"
    c = single(tmp_path, rule, [0.0, 0.25, 0.49, 0.5, 0.75, 9.0, "0.3", "n/a", np.inf, None])
    assert c["score"].iloc[:7].tolist() == [1.0, 0.7, 0.7, 0.4, 0.1, 0.1, 0.7]
    assert not c["known"].iloc[7:].any()
    assert "'n/a' is not a number" in c["sentence"].iloc[7]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([True, False, np.True_, 1, 0, 1.0, 0.0], [1, 0, 1, 1, 0, 1, 0]),
        (["yes", "No", " Y ", "n", "TRUE", "false", "1", "0"], [1, 0, 1, 0, 1, 0, 1, 0]),
    ],
)
def test_boolean_rule_accepts_common_spellings(tmp_path, values, expected):
    c = single(tmp_path, "{type: boolean, true_score: 1.0, false_score: 0.0}", values)
    assert c["score"].tolist() == expected
    assert set(c["value"]) == {"yes", "no"}


def test_boolean_labels_say_what_the_value_means(tmp_path, profile):
    c = single(tmp_path, "{type: boolean, true_label: prospect, false_label: customer}", [True, "no", None])
    assert c["value"].tolist() == ["prospect", "customer", ""]
    # the packaged profile's "current customer" reads is_prospect: a customer shows "customer", never "no"
    rated = rate_accounts(profile, frame_of({"c": {"is_prospect": 0.0}, "p": {"is_prospect": 1.0}}))
    rows = rated.contributions.set_index(["account_id", "criterion"])
    assert rows.loc[("c", "current_customer"), "value"] == "customer"
    assert rows.loc[("p", "current_customer"), "value"] == "prospect"
    assert rows.loc[("c", "current_customer"), "points"] > 0 > rows.loc[("p", "current_customer"), "points"]


def test_boolean_rule_unknown_words(tmp_path):
    c = single(tmp_path, "{type: boolean}", ["maybe", 2, ""])
    assert not c["known"].any() and (c["points"] == 0).all()


def test_sentences_fill_value_choose_low_and_format_numbers(tmp_path):
    text = one_criterion(
        "{type: thresholds, bins: [0.5], scores: [0.0, 1.0]}",
        sentence="Share {value:.0%}",
        extra="    sentence_low: 'Only {value} ({value:.1f}) {{raw}}'\n",
    )
    profile = load_profile(write(tmp_path, text))
    frame = pd.DataFrame({"x": [0.75, 0.25]}, index=pd.Index(["hi", "lo"], name="account_id"))
    c = rate_accounts(profile, frame).contributions
    assert c["sentence"].tolist() == ["Share 75%", "Only 0.25 (0.2) {raw}"]


# ---------------------------------------------------------------------------------------------- scoring


def test_unknowns_are_neutral_counted_and_listed(profile):
    frame = frame_of(
        {"known": {"culture_fit": "good"}, "blank": {"culture_fit": None}, "empty": {"culture_fit": "  "}}
    )
    result = rate_accounts(profile, frame)
    k = len(profile.criteria)
    assert result.scores.loc["blank", "rating_score"] == 50.0
    assert result.scores.loc["blank", "rating_unknown"] == k
    assert result.scores.loc["empty", "rating_unknown"] == k
    assert result.scores.loc["known", "rating_unknown"] == k - 1
    assert result.scores.loc["known", "rating_score"] == pytest.approx(
        50 + profile.max_points("culture_fit"), abs=0.05
    )
    rows = result.contributions[result.contributions["account_id"] == "blank"]
    assert len(rows) == k
    assert (rows["points"] == 0).all() and not rows["known"].any() and rows["score"].isna().all()
    assert (rows["value"] == "").all()
    assert rows["sentence"].str.contains("unknown").all()
    absent = rows.set_index("criterion").loc["win_win", "sentence"]
    assert absent == "Win win: unknown (no 'collaboration' column in the data)"


def test_score_range_extremes_and_points_add_up(profile):
    best, worst = best_and_worst(profile)
    frame = frame_of({"best": best, "worst": worst, "nothing": {}})
    scores = rate_accounts(profile, frame).scores

    def extreme(pick) -> float:  # the score the profile's own rules allow at best / at worst
        total = 0.0
        for c in profile.criteria:
            rule = c.rule
            options = (
                list(rule.values.values())
                if isinstance(rule, MapRule)
                else list(rule.scores)
                if isinstance(rule, ThresholdRule)
                else [rule.true_score, rule.false_score]
            )
            total += 100 * c.weight / profile.total_weight * (pick(options) - 0.5)
        return round(50 + total, 1)

    assert scores.loc["best", "rating_score"] == extreme(max) > 90
    assert scores.loc["best", "rating_grade"] == "A"
    assert scores.loc["worst", "rating_score"] == extreme(min) < 10
    assert scores.loc["worst", "rating_grade"] == "D"
    assert scores.loc["nothing", "rating_score"] == 50.0
    assert scores.loc[["best", "worst"], "rating_unknown"].tolist() == [0, 0]


def random_accounts(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    levels = ["low", "medium", "high", None]
    return pd.DataFrame(
        {
            "culture_fit": rng.choice(["good", "fair", "poor", None, ""], n),
            "collaboration": rng.choice(["win_win", "neutral", "adversarial"], n),
            "buyer_orientation": rng.choice(["value", "price", "unknown-ish"], n),
            "commitment": rng.choice(levels, n),
            "openness": rng.choice(levels, n),
            "reputation": rng.integers(1, 6, n),
            "product_suitability": rng.choice([1.0, 3.0, 5.0, np.nan], n),
            "executive_sponsor": rng.choice(["yes", "no", "Y"], n),
            "acquired_by_competitor": rng.choice(["yes", "no"], n),
            "is_prospect": rng.choice([0.0, 1.0], n),
            "peer_spend_percentile": rng.uniform(size=n),
            "potential_multiple": rng.lognormal(1, 1.5, n),
            "spend_trend_365d": rng.normal(0, 0.4, n),
            "days_since_last_activity": np.where(rng.uniform(size=n) < 0.1, np.nan, rng.uniform(0, 500, n)),
            "employees": rng.integers(1, 100_000, n),
        },
        index=pd.Index([f"x{i:04d}" for i in range(n)], name="account_id"),
    )


def test_scores_contract_range_sum_and_grades(profile):
    frame = random_accounts(500)
    result = rate_accounts(profile, frame)
    scores, contributions = result.scores, result.contributions
    assert list(scores.columns) == list(SCORE_COLUMNS) and scores.index.name == "account_id"
    assert scores.index.equals(frame.index)
    assert list(contributions.columns) == list(CONTRIBUTION_COLUMNS)
    assert len(contributions) == len(frame) * len(profile.criteria)
    s = scores["rating_score"]
    assert s.between(0, 100).all() and (s == s.round(1)).all()
    sums = contributions.groupby("account_id")["points"].sum().reindex(s.index)
    assert np.allclose(50 + sums, s, atol=0.05 + 1e-9)
    unknown = (~contributions["known"]).groupby(contributions["account_id"]).sum().reindex(s.index)
    assert (unknown == scores["rating_unknown"]).all()
    assert scores["rating_unknown"].dtype.kind == "i"
    expected = np.select([s >= 75, s >= 60, s >= 45], ["A", "B", "C"], "D")
    assert (scores["rating_grade"] == expected).all()
    known = contributions[contributions["known"]]
    assert known["score"].between(0, 1).all() and (known["value"] != "").all()
    assert not contributions["sentence"].str.contains("{value", regex=False).any()
    # account-major: each account's criteria together, in profile order
    assert contributions["criterion"].iloc[: len(profile.criteria)].tolist() == [
        c.name for c in profile.criteria
    ]
    assert (
        contributions["account_id"].iloc[0]
        == contributions["account_id"].iloc[len(profile.criteria) - 1]
        == "x0000"
    )


@pytest.mark.parametrize(
    ("score", "grade"),
    [(1.0, "A"), (0.75, "A"), (0.749, "B"), (0.6, "B"), (0.45, "C"), (0.449, "D"), (0.0, "D")],
)
def test_grade_thresholds_are_inclusive(tmp_path, score, grade):
    profile = load_profile(
        write(tmp_path, one_criterion(f"{{type: thresholds, bins: [0], scores: [0, {score}]}}"))
    )
    result = rate_accounts(profile, pd.DataFrame({"x": [1.0]}, index=pd.Index(["a"], name="account_id")))
    assert result.scores.loc["a", "rating_score"] == round(100 * score, 1)
    assert result.scores.loc["a", "rating_grade"] == grade


def test_best_is_not_biggest(profile):
    common = dict(random_accounts(1, seed=3).iloc[0].to_dict(), culture_fit="fair", growth_trend="flat")
    small = {
        **common,
        "collaboration": "win_win",
        "buyer_orientation": "value",
        "potential_multiple": 0.5,
        "employees": 10,
    }
    giant = {
        **common,
        "collaboration": "adversarial",
        "buyer_orientation": "price",
        "potential_multiple": 500.0,
        "employees": 500_000,
        "annual_revenue": 1e10,
        "spend_365d": 1e8,
    }
    scores = rate_accounts(profile, frame_of({"small_partner": small, "giant_price_buyer": giant})).scores
    assert scores.loc["small_partner", "rating_score"] > scores.loc["giant_price_buyer", "rating_score"] + 5


def test_weights_keep_fit_above_size(profile):
    """Structural guard for sales-ops edits: win/win + value orientation outweigh every size criterion."""

    def swing(attribute: str) -> float:  # weight x (best score - worst score) of the criteria reading it
        total = 0.0
        for c in profile.criteria:
            if c.attribute == attribute:
                rule = c.rule
                scores = (
                    list(rule.values.values())
                    if isinstance(rule, MapRule)
                    else list(rule.scores)
                    if isinstance(rule, ThresholdRule)
                    else [rule.true_score, rule.false_score]
                )
                total += c.weight * (max(scores) - min(scores))
        return total

    fit = swing("collaboration") + swing("buyer_orientation")
    size = swing("potential_multiple") + swing("employees") + swing("annual_revenue") + swing("spend_365d")
    assert fit > 2 * size


def test_rates_pipeline_style_features(profile):
    """Features arrive as floats (is_prospect 0.0/1.0, counts as float); they must score, not go unknown."""
    frame = frame_of(
        {
            "a": {
                "is_prospect": 0.0,
                "distinct_contacts_365d": 1.0,
                "exec_contacts_180d": 0.0,
                "executive_sponsor": "no",
            }
        }
    )
    c = rate_accounts(profile, frame).contributions.set_index("criterion")
    assert (
        c.loc["current_customer", "known"]
        and c.loc["current_customer", "sentence"] == "Current customer: already buys from us"
    )
    assert c.loc["multi_threaded", "sentence"] == "Single-threaded: only 1 contact(s) in the last year"
    assert c.loc["executive_sponsor", "sentence"] == "No executive sponsor"
    assert c.loc["executive_contact", "points"] < 0


def test_input_frame_is_not_modified_and_result_is_deterministic(profile):
    frame = random_accounts(300, seed=7)
    frame["notes"] = pd.Series(["keep me"] * len(frame), index=frame.index, dtype=object)
    before = frame.copy(deep=True)
    first = rate_accounts(profile, frame)
    pd.testing.assert_frame_equal(frame, before)
    second = rate_accounts(profile, frame.copy())
    pd.testing.assert_frame_equal(first.scores, second.scores)
    pd.testing.assert_frame_equal(first.contributions, second.contributions)


def test_empty_frame(profile):
    result = rate_accounts(profile, pd.DataFrame(index=pd.Index([], name="account_id", dtype=str)))
    assert result.scores.empty and list(result.scores.columns) == list(SCORE_COLUMNS)
    assert result.contributions.empty and list(result.contributions.columns) == list(CONTRIBUTION_COLUMNS)


# ---------------------------------------------------------------------------------------------- warnings


def test_profile_warnings_for_missing_columns(profile):
    notes = profile_warnings(profile, ["culture_fit", "collaboration"])
    required = next(n for n in notes if "count as unknown" in n)
    assert "for every account" in required and "'growth_mode' (column 'growth_trend')" in required
    assert "'culture_fit'" not in required
    optional = next(n for n in notes if "optional criteria without data" in n)
    assert "informational" in optional and "'size_of_payoff' (potential_multiple)" in optional
    assert "size_of_payoff" not in required
    assert all(n.startswith("rating_profile.yaml:") for n in notes)


def test_profile_warnings_all_present_and_none_present(profile):
    assert profile_warnings(profile, [c.attribute for c in profile.criteria]) == []
    notes = profile_warnings(profile, [])
    assert any("every account's rating will be 50" in n for n in notes)
