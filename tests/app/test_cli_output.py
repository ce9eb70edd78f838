"""Output for people and for scripts: JSON documents on stdout, tables that never truncate a cell (a file, a
pipe, a narrow terminal), `potential models`, promotion of the challenger, and the documented config."""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys

import pytest
import yaml
from pydantic import BaseModel

from potential.config import Config

AS_OF = "2025-02-01"


def run(args: list[object]) -> tuple[int, str, str]:
    """The CLI in-process with stdout and stderr captured (not a terminal)."""
    from potential.app.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["potential", *map(str, args)]
    code = 0
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    finally:
        sys.argv = argv
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from tests.conftest import make_tables, write_tables

    root = tmp_path_factory.mktemp("cli")
    data = write_tables(root / "data", make_tables())
    config = root / "small.yaml"
    config.write_text("training:\n  min_positives: 5\n  lightgbm:\n    n_estimators: 60\n")
    code, out, err = run(
        ["train", "--data", data, "--as-of", AS_OF, "--out", root, "--config", config, "--format", "json"]
    )
    assert code == 0, err
    return root, data, config, json.loads(out)


def test_train_json(workspace):
    _, _, _, trained = workspace
    models = {(m["target"], m["model"]) for m in trained["models"]}
    assert {
        ("churn", "lightgbm+logistic"),
        ("churn", "logistic"),
        ("expansion", "lightgbm+logistic"),
    } <= models
    assert ("uplift", "lightgbm") in models  # the uplift regressor is a booster alone
    assert trained["decisions"]["churn"]["promoted"] is True
    assert trained["as_of"] == AS_OF and trained["rows"] > 0


def test_rank_json_is_one_document(workspace):
    root, data, config, _ = workspace
    code, out, err = run(
        ["rank", "--data", data, "--as-of", AS_OF, "--out", root, "--config", config, "--json"]
    )
    assert code == 0, err
    ranked = json.loads(out)
    assert ranked["rows"] == 120
    assert sum(ranked["tiers"].values()) == 120 and set(ranked["model_versions"]) >= {"churn", "expansion"}
    assert ranked["target_list"].endswith("targets.csv")


def test_validate_json(workspace):
    _, data, _, _ = workspace
    code, out, err = run(["validate", "--data", data, "--format", "json"])
    assert code == 0, err
    checked = json.loads(out)
    assert checked["valid"] is True
    assert {t["table"] for t in checked["tables"]} == {"accounts", "transactions", "activities"}
    assert checked["history"]["first"] < checked["history"]["last"]


def test_compare_captured_with_80_columns_truncates_nothing(workspace, monkeypatch):
    root, _, _, _ = workspace
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run(["compare", "--out", root])
    assert code == 0, err
    assert "…" not in out
    rows = [line.split() for line in out.splitlines()[2:]]
    assert {"lightgbm+logistic", "logistic", "rfm_rule"} <= {word for row in rows for word in row}
    assert any("v1" in row and "champion" in row for row in rows)
    assert max(len(line) for line in out.splitlines()) > 80  # one line per row, not wrapped at 80


def test_tables_in_a_narrow_terminal_truncate_nothing(workspace, monkeypatch):
    """At 80 columns the leaderboards stay tables, leaving out their least needed columns and saying so; a
    terminal too narrow even for that gets one `column: value` block per row, every cell whole."""
    from potential.app import cli

    root, _, _, _ = workspace
    for width in (80, 40):
        screen = io.StringIO()
        narrow = cli._Console(file=screen, force_terminal=True, width=width, markup=False, highlight=False)
        monkeypatch.setattr(cli, "out", narrow)
        for command in (["compare", "--out", root], ["models", "--out", root]):
            code, _, err = run(command)
            assert code == 0, err
        text = re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue())  # without the terminal's colour codes
        assert "…" not in text and "..." not in text
        assert max(len(line) for line in text.splitlines()) <= width
        if width == 80:
            lines = text.splitlines()
            assert any(re.search(r"churn +lightgbm\+logistic +v1 +0\.\d{3} ", line) for line in lines)
            assert any(re.match(r"\s*churn +v1 +champion ", line) for line in lines)
            assert "left out at this width: started, Brier" in text and "trained, format" in text
        else:
            for cell in ("champion", "expansion", "logistic", "rfm_rule", "2025-02-01", "pyfunc"):
                assert cell in text


def test_models_lists_versions_with_aliases_and_metrics(workspace):
    root, _, _, _ = workspace
    code, out, err = run(["models", "--out", root, "--format", "json"])
    assert code == 0, err
    listed = {(m["target"], m["version"]): m for m in json.loads(out)}
    assert listed[("churn", 1)]["aliases"] == "champion"
    assert 0.5 < listed[("churn", 1)]["roc_auc"] <= 1
    assert listed[("uplift", 1)]["format"] == "pyfunc"
    code, table, _ = run(["models", "--out", root])
    assert "churn" in table and "champion" in table and "…" not in table


def test_promote_without_version_and_no_challenger_names_the_versions(workspace):
    root, _, _, _ = workspace
    code, _, err = run(["promote", "churn", "--out", root])
    assert code == 2
    assert "no challenger" in err and "v1 (champion)" in err and "potential models" in err


def test_compare_refuses_a_workspace_without_store(tmp_path):
    code, _, err = run(["models", "--out", tmp_path])
    assert code == 2 and "potential train" in err
    assert not (tmp_path / "models").exists()


def test_config_show_prints_the_effective_yaml(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("time:\n  horizon_days: 60\n")
    code, out, err = run(["config", "--show", "--config", config])
    assert code == 0, err
    shown = yaml.safe_load(out)
    expected = Config().with_overrides({"time.horizon_days": 60}).model_dump(mode="json", exclude={"source"})
    assert shown == expected
    assert out.startswith(f"# effective config ({config})")


def test_config_schema_describes_every_key():
    code, out, err = run(["config", "--schema"])
    assert code == 0, err
    schema = json.loads(out)
    assert "horizon_days" in schema["$defs"]["TimeConfig"]["properties"]
    assert schema["$defs"]["TimeConfig"]["properties"]["horizon_days"]["description"]


def _fields(model: type[BaseModel], prefix: str = ""):
    for name, field in model.model_fields.items():
        yield f"{prefix}{name}", field
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _fields(annotation, f"{prefix}{name}.")


def test_every_config_key_has_a_description():
    missing = [name for name, field in _fields(Config) if not (field.description or "").strip()]
    assert missing == []
    assert len(list(_fields(Config))) > 50
