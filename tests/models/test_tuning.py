"""The hyperparameter search: seeded, bounded by its trial budget, logged to MLflow, and what gets registered."""

import lightgbm as lgb
import pandas as pd
import pytest

from potential.config import Config, DataConfig
from potential.data.schema import load_dataset
from potential.labels.training_set import build_training_set
from potential.models.training import FeatureSpec, LocalBoosters, lgb_params, train_target
from potential.models.tuning import SPACE
from potential.tracking.store import REGISTERED, TUNING_TRIAL_METRIC, Tracker
from tests import stages as pipeline

AS_OF = pd.Timestamp("2025-06-01")


def config(trials: int = 3, **kw) -> Config:
    return Config().with_overrides(
        {
            "training.min_positives": 5,
            "training.lightgbm.n_estimators": 40,
            "training.tuning.enabled": True,
            "training.tuning.trials": trials,
            **kw,
        }
    )


@pytest.fixture(scope="module")
def training_set(tmp_path_factory):
    from tests.conftest import make_tables, write_tables

    data = write_tables(tmp_path_factory.mktemp("data"), make_tables())
    return build_training_set(load_dataset(data, DataConfig()), AS_OF, config())


def _booster_params(booster: lgb.Booster) -> dict[str, str]:
    """The parameters a booster was trained with, as its model text records them."""
    text = booster.model_to_string()
    section = text[text.index("parameters:") : text.index("end of parameters")]
    return dict(line[1:-1].split(": ", 1) for line in section.splitlines() if line.startswith("["))


def test_same_seed_gives_the_same_search_and_model(training_set):
    a = train_target(training_set, "churn", config())
    b = train_target(training_set, "churn", config())
    assert a.tuning is not None and b.tuning is not None
    assert [t.params for t in a.tuning.trials] == [t.params for t in b.tuning.trials]
    assert [t.value for t in a.tuning.trials] == [t.value for t in b.tuning.trials]
    assert a.tuning.searched == b.tuning.searched
    assert a.model.booster.model_to_string() == b.model.booster.model_to_string()
    other = train_target(training_set, "churn", config(seed=7))
    assert [t.params for t in other.tuning.trials][1:] != [t.params for t in a.tuning.trials][1:]


def test_search_runs_exactly_its_budget_inside_the_space(training_set):
    result = train_target(training_set, "churn", config(trials=4))
    tuning = result.tuning
    assert tuning is not None
    assert [t.number for t in tuning.trials] == [0, 1, 2, 3]
    assert tuning.budget == 4 and not tuning.timed_out
    for trial in tuning.trials:
        for name, value in trial.params.items():
            low, high, _ = SPACE[name]
            assert low <= value <= high, (name, value)
    # trial 0 is the configured parameters (small-table caps included), so the search can keep them
    first = tuning.trials[0].params
    assert first["num_leaves"] == 8 and first["min_child_samples"] == 50
    assert first["learning_rate"] == pytest.approx(0.03)
    assert tuning.value == max(t.value for t in tuning.trials)


def test_the_time_cap_stops_the_search_and_says_so(training_set):
    result = train_target(
        training_set, "churn", config(trials=50, **{"training.tuning.timeout_seconds": 1e-6})
    )
    assert result.tuning is not None
    assert result.tuning.timed_out
    assert 1 <= len(result.tuning.trials) < 50
    assert result.tuning.summary()["timed_out"] is True


def test_the_tuned_parameters_are_the_final_model(training_set):
    result = train_target(training_set, "churn", config(trials=4))
    tuning = result.tuning
    assert tuning is not None
    assert {k: result.params[k] for k in SPACE} == tuning.searched
    recorded = _booster_params(result.model.booster)
    assert int(recorded["num_leaves"]) == tuning.searched["num_leaves"]
    assert int(recorded["min_data_in_leaf"]) == tuning.searched["min_child_samples"]
    # the model string writes parameters with six significant digits
    assert float(recorded["learning_rate"]) == pytest.approx(tuning.searched["learning_rate"], rel=1e-5)
    # a fresh fit with the winning parameters and tree count on every labelled cutoff is the booster the
    # result holds (`training.refit`)
    spec = FeatureSpec.from_frame(training_set.features)
    params = {k: result.params[k] for k in {*lgb_params(config(), "binary"), *SPACE}}
    rounds = int(result.metrics["best_iteration"])
    refit = LocalBoosters(training_set).refit("churn", spec, params, config(), rounds)
    assert refit.model_to_string() == result.model.booster.model_to_string()
    assert result.model.booster.current_iteration() == rounds


def test_search_off_keeps_the_configured_parameters(training_set):
    off = train_target(training_set, "churn", config(**{"training.tuning.enabled": False}))
    assert off.tuning is None
    assert off.params["tuning"] == "off"
    assert off.params["num_leaves"] == 8  # the small-table cap of the configured 31


def test_training_logs_the_search_and_registers_the_tuned_model(tmp_path):
    from tests.conftest import make_tables, write_tables

    data = write_tables(tmp_path / "data", make_tables())
    cfg = config(trials=3)
    summary = pipeline.train(data, AS_OF, tmp_path, cfg)
    tracker = Tracker(tmp_path, cfg)
    assert "churn" in summary.results  # expansion has too few positives in this small table
    for target, result in summary.results.items():
        assert result.tuning is not None
        version = summary.decisions[target]["version"]
        run_id = tracker.client.get_model_version(REGISTERED[target], version).run_id
        run = tracker.client.get_run(run_id)
        for name, value in result.tuning.searched.items():
            assert float(run.data.params[name]) == pytest.approx(value)
        history = tracker.client.get_metric_history(run_id, TUNING_TRIAL_METRIC)
        assert sorted(m.step for m in history) == [0, 1, 2]
        assert sorted(m.value for m in history) == sorted(t.value for t in result.tuning.trials)
        assert run.data.metrics["tuning_trials"] == 3
        assert run.data.tags["potential.tuning_validation"] == "calibration slice"
        assert run.data.tags["potential.tuning_timed_out"] == "false"
        files = {a.path for a in tracker.client.list_artifacts(run_id)}
        assert "tuning.json" in files
        # what `rank` scores with is the tuned booster
        champion = tracker.champion(target)
        assert champion is not None and champion.version == version
        assert champion.model.booster.model_to_string() == result.model.booster.model_to_string()
