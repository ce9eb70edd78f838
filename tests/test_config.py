from pathlib import Path

import pytest
from pydantic import ValidationError

from potential.config import Config, load_config, packaged_resource
from potential.errors import ConfigError


def test_default_yaml_matches_builtin_defaults():
    """configs/default.yaml documents the defaults: loading it changes nothing but the profile path."""
    from_file = load_config(Path(__file__).parents[1] / "configs" / "default.yaml")
    builtin = Config()
    assert from_file.model_dump(exclude={"source", "rating"}) == builtin.model_dump(
        exclude={"source", "rating"}
    )
    assert from_file.rating_profile_path().exists()


def test_unknown_key_is_named_with_closest_valid_one(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("time:\n  horizon_day: 60\n")
    with pytest.raises(ConfigError, match=r"unknown key 'time.horizon_day'.*did you mean 'horizon_days'"):
        load_config(path)


def test_bad_value_names_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("time:\n  horizon_days: -5\n")
    with pytest.raises(ConfigError, match="time.horizon_days"):
        load_config(path)


def test_malformed_yaml_names_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("time:\n  horizon_days: [1, 2\nseed: 3\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(path)


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError):
        load_config(path)


def test_overrides_and_frozen():
    config = load_config(None, {"time.horizon_days": 30, "seed": None})
    assert config.time.horizon_days == 30
    with pytest.raises(ValidationError, match="frozen"):
        config.seed = 3  # type: ignore[misc]


def test_tier_shares_must_sum_to_one(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("ranking:\n  tier_shares: {A: 0.5, B: 0.2}\n")
    with pytest.raises(ConfigError, match="add up to 1"):
        load_config(path)


def test_digest_is_stable_and_sensitive():
    assert Config().digest() == Config().digest()
    assert Config().digest() != Config(seed=1).digest()


def test_packaged_profile_exists():
    assert packaged_resource("rating_profile.yaml").exists()
