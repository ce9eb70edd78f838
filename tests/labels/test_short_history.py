"""Short histories (a year of data or less): the cutoff plan adapts what the history allows, says so, and
refuses only when no honest time validation fits (docs/design.md section 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from potential.config import Config, DataConfig
from potential.data.schema import load_dataset
from potential.errors import InsufficientDataError
from potential.labels.training_set import MIN_HISTORY_DAYS, MIN_STEP_DAYS, build_training_set, plan_cutoffs
from potential.models.training import train_target
from tests.cli_helpers import run_cli
from tests.conftest import make_tables, write_tables

FAST = "training:\n  min_positives: 5\n  lightgbm: {n_estimators: 60}\n"


def horizon(days: int, **more) -> Config:
    return Config().with_overrides({"time.horizon_days": days, **more})


def dates(*values: str) -> tuple[pd.Timestamp, ...]:
    return tuple(pd.Timestamp(v) for v in values)


def test_a_year_with_a_60_day_horizon_shortens_the_step_and_says_so():
    plan = plan_cutoffs(pd.Timestamp("2024-01-01"), pd.Timestamp("2025-01-01"), horizon(60))
    # as configured (30-day step, 2 validation cutoffs) the train slice would have 2 cutoffs; 24 days gives 3
    assert plan["test"] == dates("2024-11-02", "2024-10-09")
    assert plan["calibration"] == dates("2024-08-10", "2024-07-17")
    assert plan["train"] == dates("2024-05-18", "2024-04-24", "2024-03-31")
    assert plan.notes == (
        "time validation adapted to a short history (2024-01-01 to 2025-01-01, 366 days, 60-day horizon): "
        "cutoffs every 24 days instead of 30 (time.cutoff_step_days), so the train slice has 3 cutoff(s) "
        "instead of 2; set these keys, or a shorter --horizon-days, to choose yourself.",
    )
    assert dict(plan) == {"train": plan.train, "calibration": plan.calibration, "test": plan.test}


def test_the_reported_export_drops_a_validation_cutoff_too():
    """The issue's numbers: 313 days of history, a 60-day horizon; it used to need about 330 days."""
    plan = plan_cutoffs(pd.Timestamp("2010-12-01 08:26"), pd.Timestamp("2011-10-10"), horizon(60))
    assert plan["test"] == dates("2011-08-11")
    assert plan["calibration"] == dates("2011-06-12")
    assert plan["train"] == dates("2011-04-13", "2011-03-23", "2011-03-02")
    (note,) = plan.notes
    assert "cutoffs every 21 days instead of 30 (time.cutoff_step_days)" in note
    assert "1 cutoff(s) per validation slice instead of 2 (training.validation_cutoffs)" in note
    assert "the train slice has 3 cutoff(s) instead of 0" in note


def test_a_history_that_fits_keeps_the_configured_plan():
    plan = plan_cutoffs(pd.Timestamp("2022-01-01"), pd.Timestamp("2025-01-01"), Config())
    assert plan.notes == ()
    assert plan["test"] == dates("2024-10-03", "2024-09-03")
    assert len(plan["train"]) == 12
    assert all(
        a - b == pd.Timedelta(days=30) for a, b in zip(plan["train"][:-1], plan["train"][1:], strict=True)
    )


@pytest.mark.parametrize("h", [30, 60, 90, 120])
def test_every_adapted_plan_is_purged_with_history_before_it(h):
    first = pd.Timestamp("2024-01-01")
    need = 3 * h + max(MIN_HISTORY_DAYS, h)
    with pytest.raises(InsufficientDataError, match=f"need about {need} days, and it has {need - 1}"):
        plan_cutoffs(first, first + pd.Timedelta(days=need - 1), horizon(h))
    window = pd.Timedelta(days=h)
    for span in range(need, need + 400, 5):
        as_of = first + pd.Timedelta(days=span)
        plan = plan_cutoffs(first, as_of, horizon(h))
        assert plan["train"] and len(plan["test"]) == len(plan["calibration"]) >= 1
        assert max(plan["test"]) + window <= as_of
        assert max(plan["calibration"]) + window <= min(plan["test"])
        assert max(plan["train"]) + window <= min(plan["calibration"])
        assert min(plan["train"]) >= first + pd.Timedelta(days=max(MIN_HISTORY_DAYS, h))
        gaps = np.diff(sorted(plan["train"])) if len(plan["train"]) > 1 else []
        assert all(gap >= pd.Timedelta(days=MIN_STEP_DAYS) for gap in gaps)
        assert len(plan.notes) <= 1


def test_four_months_are_refused_naming_the_numbers_and_the_setting():
    with pytest.raises(InsufficientDataError) as caught:
        plan_cutoffs(pd.Timestamp("2024-09-01"), pd.Timestamp("2025-01-01"), horizon(60))
    assert str(caught.value) == (
        "the history from 2024-09-01 to 2025-01-01 is too short for a 60-day horizon with time validation: one "
        "train, one calibration and one test cutoff, each with its own 60-day label window, after 90 days of "
        "history need about 270 days, and it has 122; set --horizon-days 10 or less (time.horizon_days), or use "
        "a later --as-of."
    )


def test_when_no_horizon_fits_the_fix_is_more_history():
    with pytest.raises(
        InsufficientDataError, match=r"has 92; no --horizon-days of 7 or more fits.*at least 111"
    ):
        plan_cutoffs(pd.Timestamp("2024-10-01"), pd.Timestamp("2025-01-01"), Config())


@pytest.fixture(scope="module")
def a_year(tmp_path_factory):
    tables = make_tables(60, days=365, start="2024-01-01")
    folder = write_tables(tmp_path_factory.mktemp("year") / "d", {"transactions": tables["transactions"]})
    return build_training_set(load_dataset(folder, DataConfig()), pd.Timestamp("2025-01-01"), horizon(60))


def test_a_year_of_data_builds_a_training_set_with_the_note(a_year):
    assert a_year.cutoffs.notes and "cutoffs every 24 days" in a_year.cutoffs.notes[0]
    per_slice = a_year.slice.groupby(a_year.slice.index.get_level_values("cutoff")).first()
    assert per_slice.value_counts().to_dict() == {"train": 3, "calibration": 2, "test": 2}


@pytest.mark.parametrize(
    ("target", "settings"),
    [
        (
            "expansion",
            ["lower time.expansion_growth (now 0.7) or time.expansion_min_extra_orders (now 0.5)",
             "another time.horizon_days (now 60)", "time.max_cutoffs (now 12)", "training.min_positives"],
        ),
        ("churn", ["a shorter --horizon-days (time.horizon_days, now 60)", "time.max_cutoffs", "min_positives"]),
    ],
)  # fmt: skip
def test_too_few_positives_names_the_settings_most_likely_first(a_year, target, settings):
    config = horizon(60, **{"training.min_positives": 100_000})
    with pytest.raises(InsufficientDataError) as caught:
        train_target(a_year, target, config)
    message = str(caught.value)
    assert message.startswith(f"cannot train '{target}': the train slice has ")
    where = [message.find(s) for s in settings]
    assert all(w >= 0 for w in where) and where == sorted(where), message


def four_month_log(tmp_path):
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-09-01", "2024-12-31")
    frame = pd.DataFrame(
        {
            "account_id": [f"A{i % 40:02d}" for i in range(400)],
            "date": rng.choice(days, 400),
            "amount": rng.lognormal(6, 1, 400).round(2),
        }
    )
    frame.loc[0, "date"] = days[0]
    return write_tables(tmp_path / "d4", {"transactions": frame})


def test_a_four_month_log_exits_2_naming_the_setting(tmp_path, capsys):
    code, _out, err = run_cli(
        ["train", "--data", four_month_log(tmp_path), "--as-of", "2025-01-01", "--horizon-days", "60",
         "--out", tmp_path / "ws"],
        capsys,
    )  # fmt: skip
    assert code == 2
    assert "need about 270 days, and it has 122; set --horizon-days 10 or less (time.horizon_days)" in err


@pytest.mark.slow
def test_a_twelve_month_log_runs_with_a_60_day_horizon(tmp_path, capsys):
    tables = make_tables(150, days=365, start="2024-01-01")
    data = write_tables(tmp_path / "d12", {"transactions": tables["transactions"]})
    config = tmp_path / "fast.yaml"
    config.write_text(FAST)
    code, out, err = run_cli(
        ["run", "--data", data, "--as-of", "2025-01-01", "--horizon-days", "60", "--out", tmp_path / "ws",
         "--config", config],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "note: time validation adapted to a short history" in out + err
    assert (tmp_path / "ws" / "exports" / "targets.csv").exists()
