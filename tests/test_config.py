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


@pytest.mark.parametrize(
    ("fmt", "pattern"),
    [
        ("%Q", r"'data.date_format': .*'%Q' is not a date directive"),
        ("%d/%m/%", r"'data.date_format': .*lone '%'"),
        ("%-d/%m/%Y", r"'%-' is not a date directive"),
        ("dd/mm/yyyy", r"'data.date_format': .*no % directive.*'%d/%m/%Y'.*unix, unix_ms, excel"),
        ("epoch", r"'data.date_format': .*no % directive.*unix, unix_ms, excel or 'days since 2020-01-01'"),
        ("days since 2020-13-01", r"'data.date_format': .*needs the date day 0 stands for as YYYY-MM-DD"),
        ("days since launch", r"'data.date_format': .*needs the date day 0 stands for as YYYY-MM-DD"),
    ],
)
def test_invalid_date_format_is_a_config_error(tmp_path, fmt, pattern):
    path = tmp_path / "c.yaml"
    path.write_text(f"data:\n  date_format: '{fmt}'\n")
    with pytest.raises(ConfigError, match=pattern):
        load_config(path)


@pytest.mark.parametrize(
    "fmt",
    [
        "%d/%m/%Y",
        "%Y%m%d",
        "%d.%m.%y %H:%M",
        "%G-W%V-%u",
        "%Y 100%%",
        "unix",
        "unix_ms",
        "excel",
        "days since 2020-01-01",
    ],
)
def test_valid_date_formats_load(fmt):
    assert load_config(None, {"data.date_format": fmt}).data.date_format == fmt


@pytest.mark.parametrize(
    ("encoding", "pattern"),
    [("klingon", r"'data.encoding': .*unknown encoding 'klingon'"), ("hex", r"'hex' is not a text encoding")],
)
def test_invalid_encoding_is_a_config_error(tmp_path, encoding, pattern):
    path = tmp_path / "c.yaml"
    path.write_text(f"data:\n  encoding: {encoding}\n")
    with pytest.raises(ConfigError, match=pattern):
        load_config(path)


def test_decimal_and_encoding_load():
    config = load_config(None, {"data.decimal": ",", "data.encoding": "cp1252"})
    assert (config.data.decimal, config.data.encoding) == (",", "cp1252")
    with pytest.raises(ConfigError, match="data.decimal"):
        load_config(None, {"data.decimal": ";"})


def billion_laughs(levels: int = 9) -> str:
    text = 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for i in range(1, levels + 1):
        text += f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n"
    return text


def test_yaml_alias_bomb_is_refused_before_it_expands(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(billion_laughs() + "seed: *l9\n")
    assert path.stat().st_size < 1000
    with pytest.raises(ConfigError, match=r"aliases .* expand to more than 100,000 values"):
        load_config(path)


def test_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: &a [*a]\n")
    with pytest.raises(ConfigError, match="refers to a value that contains it"):
        load_config(path)


def test_small_aliases_still_work(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  tables: &t {transactions: orders}\n  columns: {}\n")
    assert load_config(path).data.tables == {"transactions": "orders"}


@pytest.mark.parametrize(
    "value",
    ["x" * 1_000_000, "[" + ", ".join(["[" + ", ".join(["1"] * 300) + "]"] * 300) + "]"],
    ids=["huge_string", "big_structure"],
)
def test_bad_values_are_echoed_bounded(tmp_path, value):
    path = tmp_path / "c.yaml"
    path.write_text(f"seed: {value}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "'seed'" in str(info.value) and len(str(info.value)) < 400


def test_deeply_nested_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: " + "[" * 20000 + "]" * 20000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(path)


def test_an_unknown_delimiter_is_a_config_error_naming_the_choices(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text('data:\n  delimiter: ":"\n')
    with pytest.raises(ConfigError, match=r"data.delimiter.*'auto'.*';'"):
        load_config(path)


def test_data_header_is_auto_true_or_false_and_anything_else_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    for text, expected in (("false", False), ("true", True), ("auto", "auto")):
        path.write_text(f"data:\n  header: {text}\n")
        assert load_config(path).data.header == expected
    path.write_text("data:\n  header: sometimes\n")
    with pytest.raises(ConfigError, match=r"data.header"):
        load_config(path)
