"""Exports shaped like real ones run through the column map with no code change.

1. A retail transaction log: its own column names, YYYYMMDD dates, no accounts table, thousands of
   customers who bought once, refunds, a currency-formatted amount column.
2. A profile-only churn table: 20 mixed-type columns, Yes/No strings, blanks in numeric columns, an id
   column called `customerID`, outcomes for most (not all) customers in a separate file; or one file with
   no id column at all (`data.row_ids`).
3. A log with no header line, its columns aligned with spaces (the CDNOW master file's shape).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.cli_helpers import run_cli


@pytest.fixture(scope="module")
def retail_log(tmp_path_factory) -> Path:
    rng = np.random.default_rng(5)
    folder = tmp_path_factory.mktemp("retail") / "data"
    folder.mkdir()
    n = 4000
    days = pd.date_range("2024-01-01", "2026-09-30", freq="D")
    rows = []
    one_timers = rng.random(n) < 0.55  # most retail customers never come back
    for i in range(n):
        k = 1 if one_timers[i] else int(rng.integers(2, 25))
        start = int(rng.integers(0, len(days) - 60))
        life = int(rng.integers(30, len(days) - start))
        picks = np.sort(rng.integers(start, start + life, size=k))
        for d in picks:
            rows.append((f"{100000 + i}", days[d].strftime("%Y%m%d"), round(float(rng.gamma(2.0, 40.0)), 2)))
    log = pd.DataFrame(rows, columns=["cust_no", "order_date", "net_value"])
    refunds = log.sample(frac=0.02, random_state=1).assign(net_value=lambda f: -f["net_value"])
    log = pd.concat([log, refunds]).sample(frac=1.0, random_state=2)
    log["store"] = rng.choice(["web", "north", "south"], size=len(log))
    log.to_csv(folder / "orders.csv", index=False)
    (folder.parent / "retail.yaml").write_text(
        "data:\n"
        "  tables: {transactions: orders}\n"
        "  columns: {transactions: {account_id: cust_no, date: order_date, amount: net_value, product: store}}\n"
        '  date_format: "%Y%m%d"\n',
        encoding="utf-8",
    )
    return folder


def test_a_foreign_transaction_log_runs_through_the_column_map(retail_log, tmp_path, capsys):
    config = retail_log.parent / "retail.yaml"
    before = {p.name: p.read_bytes() for p in retail_log.iterdir()}
    code, out, err = run_cli(["validate", "--data", retail_log, "--config", config], capsys)
    assert code == 0, err
    workspace = tmp_path / "ws"
    code, out, err = run_cli(
        ["run", "--data", retail_log, "--as-of", "2026-10-01", "--out", workspace, "--config", config], capsys
    )
    assert code == 0, err + out
    targets = pd.read_csv(workspace / "exports" / "targets.csv", dtype={"account_id": str})
    customers = pd.read_csv(retail_log / "orders.csv", dtype=str)["cust_no"].nunique()
    assert len(targets) == customers  # ids come from the log: every customer is ranked once
    assert targets["churn_probability"].between(0, 1).all()
    assert (workspace / "reports" / "index.html").exists()
    assert {p.name: p.read_bytes() for p in retail_log.iterdir()} == before  # input untouched


def _telco(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    yes_no = np.array(["Yes", "No"])
    tenure = rng.integers(0, 72, n)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.25, 0.2])
    internet = rng.choice(["DSL", "Fiber optic", "No"], n, p=[0.35, 0.45, 0.2])
    monthly = np.round(rng.uniform(18, 118, n), 2)
    total = (monthly * tenure).round(2).astype(str)
    total[tenure == 0] = " "  # new customers have a blank total, as in real exports
    frame = pd.DataFrame(
        {
            "customerID": [
                f"{rng.integers(1000, 9999)}-{''.join(rng.choice(list('ABCDEFGHXYZ'), 5))}{i}"
                for i in range(n)
            ],
            "gender": rng.choice(["Female", "Male"], n),
            "SeniorCitizen": rng.choice([0, 1], n, p=[0.84, 0.16]),
            "Partner": rng.choice(yes_no, n),
            "Dependents": rng.choice(yes_no, n, p=[0.3, 0.7]),
            "tenure": tenure,
            "PhoneService": rng.choice(yes_no, n, p=[0.9, 0.1]),
            "MultipleLines": rng.choice(["Yes", "No", "No phone service"], n),
            "InternetService": internet,
            "OnlineSecurity": rng.choice(["Yes", "No", "No internet service"], n),
            "OnlineBackup": rng.choice(["Yes", "No", "No internet service"], n),
            "DeviceProtection": rng.choice(["Yes", "No", "No internet service"], n),
            "TechSupport": rng.choice(["Yes", "No", "No internet service"], n),
            "StreamingTV": rng.choice(["Yes", "No", "No internet service"], n),
            "StreamingMovies": rng.choice(["Yes", "No", "No internet service"], n),
            "Contract": contract,
            "PaperlessBilling": rng.choice(yes_no, n),
            "PaymentMethod": rng.choice(
                ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"],
                n,
            ),
            "MonthlyCharges": monthly,
            "TotalCharges": total,
        }
    )
    logit = (
        -1.2
        + 1.3 * (contract == "Month-to-month")
        - 0.04 * tenure
        + 0.8 * (internet == "Fiber optic")
        + 0.5 * (frame["PaymentMethod"] == "Electronic check")
        - 0.5 * (frame["TechSupport"] == "Yes")
    )
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    labels = pd.DataFrame({"customerID": frame["customerID"], "Churn": np.where(churn, "Yes", "No")})
    return frame, labels.iloc[: int(n * 0.9)]  # the newest tenth has no known outcome yet


def _run_telco(tmp_path: Path, capsys, accounts: pd.DataFrame, labels: pd.DataFrame) -> tuple[str, Path]:
    """`potential run` on the two tables through the telecom column map: (its output on one line, workspace)."""
    folder = tmp_path / "telco"
    folder.mkdir()
    accounts.to_csv(folder / "accounts.csv", index=False)
    labels.to_csv(folder / "labels.csv", index=False)
    config = tmp_path / "telco.yaml"
    config.write_text(
        "data:\n  columns:\n    accounts: {account_id: customerID}\n"
        "    labels: {account_id: customerID, churned: Churn}\n",
        encoding="utf-8",
    )
    workspace = tmp_path / "ws"
    code, out, err = run_cli(
        ["run", "--data", folder, "--as-of", "2026-11-01", "--out", workspace, "--config", config], capsys
    )
    assert code == 0, err + out
    return " ".join((out + err).split()), workspace


def _churn_card(workspace: Path) -> dict:
    card = json.loads((workspace / "exports" / "run.json").read_text())
    return next(m for m in card["models"] if m["target"] == "churn")


def test_a_profile_only_churn_table_trains_scores_and_skips_expansion(tmp_path, capsys):
    accounts, labels = _telco(3000, np.random.default_rng(8))
    assert accounts.shape[1] == 20
    text, workspace = _run_telco(tmp_path, capsys, accounts, labels)
    assert "expansion: not modelled" in text  # skipped, and said so
    assert "'TotalCharges' is numeric with" in text and "blank" in text
    targets = pd.read_csv(workspace / "exports" / "targets.csv", dtype={"account_id": str})
    assert len(targets) == len(accounts)  # unlabelled customers are scored too
    assert set(targets["account_id"]) == set(accounts["customerID"])
    assert targets["churn_probability"].between(0, 1).all()
    assert targets["expansion_probability"].isna().all()
    churn = _churn_card(workspace)
    assert churn["metrics"]["roc_auc"] > 0.7  # the signal in the generator is found, not noise
    assert churn["model"] == "lightgbm+logistic"
    logistic = churn["baselines"]["logistic"]  # the page's model card shows every metric of the baselines too
    assert 0 < logistic["brier"] < 1 and logistic["lift_at_10"] > 1


def test_a_table_split_into_part_files_reads_like_one_file(retail_log, tmp_path, capsys):
    """Exports from Spark/warehouses come as a folder of parts; the folder is the table."""
    folder = tmp_path / "parts"
    (folder / "orders").mkdir(parents=True)
    log = pd.read_csv(retail_log / "orders.csv", dtype=str)
    for i, start in enumerate(range(0, len(log), 5000)):
        log.iloc[start : start + 5000].to_csv(folder / "orders" / f"part-{i:04d}.csv", index=False)
    config = retail_log.parent / "retail.yaml"
    args = ["features", "--as-of", "2026-10-01", "--config", config]
    code, _, err = run_cli([*args, "--data", retail_log, "--out", tmp_path / "one.parquet"], capsys)
    assert code == 0, err
    code, _, err = run_cli([*args, "--data", folder, "--out", tmp_path / "parts.parquet"], capsys)
    assert code == 0, err
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "one.parquet"), pd.read_parquet(tmp_path / "parts.parquet")
    )
    (folder / "orders" / "stray.parquet").write_bytes(b"PAR1")
    code, _, err = run_cli([*args, "--data", folder, "--out", tmp_path / "x.parquet"], capsys)
    assert code == 2 and "part files of one kind" in err


def test_a_log_without_a_header_aligned_with_spaces_reads_like_the_csv(retail_log, tmp_path, capsys):
    """The classic CDNOW master file's shape: a .txt file with no header line, columns aligned with runs of
    spaces (and leading spaces). Refused at first naming each column's first value by position; mapped by
    position, its features equal those of the same log as a CSV with a header."""
    folder = tmp_path / "aligned"
    folder.mkdir()
    log = pd.read_csv(retail_log / "orders.csv", dtype=str)
    lines = [f"  {r.cust_no:>8} {r.order_date}   {r.net_value:>10}  {r.store}\n" for r in log.itertuples()]
    (folder / "orders.txt").write_text("".join(lines), encoding="utf-8")
    first = log.iloc[0]
    config = tmp_path / "aligned.yaml"
    config.write_text("data:\n  tables: {transactions: orders}\n", encoding="utf-8")
    code, _, err = run_cli(["validate", "--data", folder, "--config", config], capsys)
    assert code == 2
    assert (
        f"columns found: column_1, column_2, column_3, column_4 (no header line; the first row has "
        f"column_1 = '{first.cust_no}', column_2 = '{first.order_date}', column_3 = '{first.net_value}', "
        f"column_4 = '{first.store}'; if it is the header, set data.header: true)" in err
    )
    config.write_text(
        (retail_log.parent / "retail.yaml")
        .read_text(encoding="utf-8")
        .replace("cust_no", "column_1")
        .replace("order_date", "column_2")
        .replace("net_value", "column_3")
        .replace("store", "column_4"),
        encoding="utf-8",
    )
    code, out, err = run_cli(["validate", "--data", folder, "--config", config], capsys)
    assert code == 0, err
    assert "orders.txt: columns separated by spaces (read from its first line" in out
    assert "orders.txt: no header line" in out and "column_1 to column_4 (data.header sets it)" in out
    args = ["features", "--as-of", "2026-10-01"]
    code, _, err = run_cli(
        [*args, "--data", folder, "--config", config, "--out", tmp_path / "a.parquet"], capsys
    )
    assert code == 0, err
    config_csv = retail_log.parent / "retail.yaml"
    code, _, err = run_cli(
        [*args, "--data", retail_log, "--config", config_csv, "--out", tmp_path / "c.parquet"], capsys
    )
    assert code == 0, err
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "c.parquet")
    )


def test_the_outcome_in_the_accounts_export_is_not_learnt_as_a_feature(tmp_path, capsys):
    """The telecom export is one file with 'Churn' in it, read as both accounts.csv and labels.csv: that
    column is the answer, so it is left out of the features (and said so), never learnt."""
    accounts, labels = _telco(3000, np.random.default_rng(8))
    whole = accounts.merge(labels, on="customerID", how="left")  # one file, outcome blank where unknown
    text, workspace = _run_telco(tmp_path, capsys, whole, whole)
    assert "accounts.csv: column(s) 'Churn' (the churned label) hold the outcome" in text
    assert 0.7 < _churn_card(workspace)["metrics"]["roc_auc"] < 0.95  # the generator's signal, not the answer
    drivers = pd.read_parquet(workspace / "exports" / "drivers.parquet")
    assert len(drivers) and "Churn" not in set(drivers["feature"])  # the answer would lead every reason


def test_a_column_recorded_after_the_outcome_is_called_out(tmp_path, capsys):
    """A churn reason (blank for those who stayed) is the answer under another name: it cannot be told from
    its name, so the run says the held-out ROC-AUC is too good and names the column the model leans on."""
    accounts, labels = _telco(3000, np.random.default_rng(8))
    churned = accounts["customerID"].map(labels.set_index("customerID")["Churn"]).eq("Yes").to_numpy()
    reasons = np.random.default_rng(2).choice(["Competitor offer", "Price", "Moved"], len(accounts))
    accounts["Churn Reason"] = np.where(churned, reasons, "")
    text, _ = _run_telco(tmp_path, capsys, accounts, labels)
    assert (
        "churn: ROC-AUC 1.000 on the held-out slice is rarely real; the model leans most on 'Churn Reason'"
        in text
    )


def test_a_churn_table_without_an_id_column_is_read_with_row_numbers_as_ids(tmp_path, capsys):
    """Public churn tables often have no customer id: refused naming data.row_ids; with it, each row's
    number in the file is the account's id, and the list's explanations quote that row's own values."""
    accounts, labels = _telco(1500, np.random.default_rng(3))
    whole = accounts.merge(labels, on="customerID", how="left").drop(columns="customerID")
    folder = tmp_path / "data"
    folder.mkdir()
    whole.to_csv(folder / "churn.csv", index=False)
    config = tmp_path / "c.yaml"
    text = "data:\n  tables: {accounts: churn, labels: churn}\n  columns:\n    labels: {churned: Churn}\n"
    config.write_text(text, encoding="utf-8")
    args = ["run", "--data", folder, "--as-of", "2026-11-01", "--out", tmp_path / "ws", "--config", config]
    code, out, err = run_cli(args, capsys)
    assert code == 2 and "required column 'account_id' is missing" in err and "data.row_ids: true" in err
    config.write_text(text + "  row_ids: true\n", encoding="utf-8")
    code, out, err = run_cli(args, capsys)
    assert code == 0, err + out
    said = " ".join((out + err).split())
    assert (
        "no account id column; each row's number in the file is its id (data.row_ids), '2' to '1501'" in said
    )
    assert "not used as profile features (the file is read as labels too)." in said  # nothing to remove
    targets = pd.read_csv(tmp_path / "ws" / "exports" / "targets.csv", dtype={"account_id": str})
    assert sorted(targets["account_id"], key=int) == [str(row) for row in range(2, 1502)]
    explained = pd.read_parquet(tmp_path / "ws" / "exports" / "explanations.parquet")
    tenure = explained[explained["feature"] == "tenure"].set_index("account_id")["value"]
    file_rows = whole["tenure"].set_axis([str(i + 2) for i in range(len(whole))])
    assert len(tenure) and (tenure == file_rows.reindex(tenure.index)).all()  # id k is the file's row k
    assert _churn_card(tmp_path / "ws")["metrics"]["roc_auc"] > 0.7  # labels joined to their own rows


def test_row_numbers_are_refused_where_they_cannot_name_the_same_account(tmp_path, capsys):
    """Beside a transactions table (which names accounts by id), or with accounts and labels in two files."""
    folder = tmp_path / "data"
    folder.mkdir()
    pd.DataFrame({"plan": ["a", "b"]}).to_csv(folder / "accounts.csv", index=False)
    pd.DataFrame({"churned": [0, 1]}).to_csv(folder / "labels.csv", index=False)
    config = tmp_path / "c.yaml"
    config.write_text("data:\n  row_ids: true\n", encoding="utf-8")
    args = ["validate", "--data", folder, "--config", config]
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "data.row_ids: accounts (accounts.csv) and labels (labels.csv) are two files" in err
    (folder / "labels.csv").unlink()
    pd.DataFrame({"account_id": ["2"], "date": ["2026-01-05"], "amount": [10]}).to_csv(
        folder / "transactions.csv", index=False
    )
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "data.row_ids numbers the rows of a profile table, but transactions.csv" in err


def test_validate_lists_the_columns_no_feature_reads(tmp_path, capsys):
    """What the column map could still put to use: the file's own names of the columns left unread."""
    folder = tmp_path / "data"
    folder.mkdir()
    pd.DataFrame(
        {
            "CustomerID": ["1", "2", "1"],
            "InvoiceDate": ["2026-01-05", "2026-02-01", "2026-03-01"],
            "Sales": [10.0, 5.5, 7.0],
            "Country": ["UK", "FR", "UK"],
            "Channel": ["web", "shop", "web"],
        }
    ).to_csv(folder / "transactions.csv", index=False)
    config = tmp_path / "c.yaml"
    config.write_text(
        "data:\n  columns: {transactions: {account_id: CustomerID, date: InvoiceDate, amount: Sales}}\n",
        encoding="utf-8",
    )
    args = ["validate", "--data", folder, "--config", config]
    code, out, err = run_cli([*args, "--format", "json"], capsys)
    assert code == 0, err
    (table,) = json.loads(out)["tables"]
    assert table["unread"] == ["Country", "Channel"]
    code, out, err = run_cli(args, capsys)
    assert code == 0 and "not read" in out and "Country, Channel" in out
