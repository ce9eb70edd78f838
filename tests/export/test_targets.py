import zipfile

import pandas as pd
import pytest

from potential.export.targets import (
    REASON_COLUMNS,
    TARGET_COLUMNS,
    neutralise,
    order_columns,
    read_targets,
    write_targets,
)

GOLDEN_HEADER = (
    "rank,account_id,account_name,tier,action,priority_score,expansion_probability,expected_uplift,"
    "churn_probability,revenue_at_risk,rating_score,rating_grade,high_value,reasons,as_of,model_version"
)


def frame():
    return pd.DataFrame(
        {
            "rank": [1, 2],
            "account_id": ["a1", "a2"],
            "account_name": ['=HYPERLINK("http://x")', 'Ünïcødé, "Ltd"\nline'],
            "tier": ["A", "B"],
            "action": ["Grow", "Save"],
            "priority_score": [10.5, 3.0],
            "expansion_probability": [0.5, float("nan")],
            "expected_uplift": [100.0, float("nan")],
            "churn_probability": [0.1, 0.7],
            "revenue_at_risk": [20.0, 30.0],
            "rating_score": [60.0, 40.0],
            "rating_grade": ["B", "D"],
            "high_value": [True, False],
            "reasons": ["-5 pts", "@cmd"],
            "as_of": ["2026-01-01"] * 2,
            "model_version": ["churn:v1"] * 2,
            "action_rule": ["Grow: x", "Save: y"],
        }
    )


def test_golden_header_and_order(tmp_path):
    path = write_targets(frame(), tmp_path / "targets.csv", "csv", {})
    assert path.read_text().splitlines()[0].startswith(GOLDEN_HEADER)
    assert ",".join(TARGET_COLUMNS) == GOLDEN_HEADER


def test_csv_formula_injection_neutralised(tmp_path):
    path = write_targets(frame(), tmp_path / "targets.csv", "csv", {})
    back = pd.read_csv(path)
    assert back["account_name"].iloc[0].startswith("'=")
    assert back["reasons"].tolist() == ["'-5 pts", "'@cmd"]
    assert back["priority_score"].tolist() == [10.5, 3.0]
    assert neutralise(-5.0) == -5.0


def test_xlsx_cells_never_formulas_and_lineage(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    path = write_targets(
        frame(), tmp_path / "targets.xlsx", "xlsx", {"as_of": "2026-01-01", "model_versions": {"churn": "1"}}
    )
    wb = openpyxl.load_workbook(path)
    ws = wb["targets"]
    cell = ws.cell(2, TARGET_COLUMNS.index("account_name") + 1)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    assert ws.freeze_panes == "C2"
    assert wb["lineage"]["A2"].value == "as_of"
    with zipfile.ZipFile(path) as z:
        assert all(
            "<f>" not in z.read(n).decode("utf-8", "ignore")
            for n in z.namelist()
            if n.startswith("xl/worksheets")
        )


def test_same_rows_every_format_and_byte_identical(tmp_path):
    a = write_targets(frame(), tmp_path / "a" / "targets.csv", "csv", {})
    b = write_targets(frame(), tmp_path / "b" / "targets.csv", "csv", {})
    assert a.read_bytes() == b.read_bytes()
    x1 = write_targets(frame(), tmp_path / "a" / "targets.xlsx", "xlsx", {"k": 1})
    x2 = write_targets(frame(), tmp_path / "b" / "targets.xlsx", "xlsx", {"k": 1})
    assert x1.read_bytes() == x2.read_bytes()
    p = write_targets(frame(), tmp_path / "targets.parquet", "parquet", {})
    assert pd.read_parquet(p)["account_id"].tolist() == pd.read_csv(a)["account_id"].tolist()
    assert list(order_columns(frame()).columns)[:16] == list(TARGET_COLUMNS)
    assert not list(tmp_path.glob("**/*.tmp"))


def with_reasons() -> pd.DataFrame:
    """Account a1 with a model driver and a rating criterion, a2 with no reason at all."""
    out = frame()
    out["reasons"] = ["-Spend fell 38% (churn risk +12.0 pts); Good culture fit (rating +4.0 pts)", ""]
    slots = {
        "reason_1": ["-Spend fell 38%", ""],
        "reason_1_points": [12.0, float("nan")],
        "reason_1_source": ["model", ""],
        "reason_1_target": ["churn", ""],
        "reason_2": ["Good culture fit", ""],
        "reason_2_points": [4.0, float("nan")],
        "reason_2_source": ["rating", ""],
        "reason_2_target": ["", ""],
    }
    for column in REASON_COLUMNS:
        out[column] = slots.get(column, ["", ""] if not column.endswith("_points") else [float("nan")] * 2)
    return out


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_reason_columns_follow_the_contract_and_read_back_as_written(tmp_path, fmt):
    path = write_targets(with_reasons(), tmp_path / f"targets.{fmt}", fmt, {})
    back = read_targets(path)
    assert list(back.columns[16 : 16 + len(REASON_COLUMNS)]) == list(REASON_COLUMNS)
    first, second = back.iloc[0], back.iloc[1]
    assert first["reason_1"] == "-Spend fell 38%"  # neutralised in the csv, restored when read
    assert (first["reason_1_points"], first["reason_1_source"], first["reason_1_target"]) == (
        12.0,
        "model",
        "churn",
    )
    assert (first["reason_2_points"], first["reason_2_source"], first["reason_2_target"]) == (
        4.0,
        "rating",
        "",
    )
    assert first["reason_3"] == "" and pd.isna(first["reason_3_points"])
    assert second["reasons"] == "" and all(second[f"reason_{i}"] == "" for i in (1, 2, 3))
    assert all(pd.isna(second[f"reason_{i}_points"]) for i in (1, 2, 3))
