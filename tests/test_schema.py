import hashlib

import numpy as np
import pandas as pd
import pytest

from potential.config import DataConfig
from potential.data.schema import load_dataset
from potential.errors import ConfigError, InputError
from tests.conftest import make_tables, write_tables


def test_loads_and_types(data_dir):
    ds = load_dataset(data_dir, DataConfig())
    assert ds.has_history
    assert pd.api.types.is_datetime64_any_dtype(ds.transactions["date"])
    assert ds.transactions["amount"].dtype == float
    assert ds.accounts["employees"].dtype == float
    # each file's sha256, computed beside the reading (`_read_tables`)
    assert ds.digests == {t: hashlib.sha256(path.read_bytes()).hexdigest() for t, path in ds.sources.items()}
    assert len(ds.digests) == 3


def test_column_map_and_date_format(tmp_path):
    tx = make_tables(20)["transactions"]
    foreign = pd.DataFrame(
        {
            "cust_no": tx["account_id"],
            "order_date": pd.to_datetime(tx["date"]).dt.strftime("%Y%m%d"),
            "net_value": tx["amount"],
        }
    )
    write_tables(tmp_path, {"orders": foreign})
    config = DataConfig(
        columns={"transactions": {"account_id": "cust_no", "date": "order_date", "amount": "net_value"}},
        date_format="%Y%m%d",
        tables={"transactions": "orders"},
    )
    ds = load_dataset(tmp_path, config)
    assert ds.transactions["date"].min() >= pd.Timestamp("2023-01-01")
    assert set(ds.accounts["account_id"]) == set(tx["account_id"])


def test_an_accounts_column_holding_an_outcome_is_not_a_profile_attribute(tmp_path):
    """Named as a label in any case ('Churned'), or as the column data.columns.labels maps ('Lost'): left out
    of the profile with a note, whatever else the table holds."""
    tables = make_tables(30)
    accounts = tables["accounts"].assign(
        Churned=np.arange(30) % 2, Lost=np.arange(30) % 3 == 0, expanded_flag=np.arange(30) % 2
    )
    write_tables(tmp_path, {"transactions": tables["transactions"], "accounts": accounts})
    ds = load_dataset(tmp_path, DataConfig(columns={"labels": {"expanded": "Lost"}}))
    assert "Churned" not in ds.accounts.columns and "Lost" not in ds.accounts.columns
    assert "expanded_flag" in ds.accounts.columns and "industry" in ds.accounts.columns
    note = next(n for n in ds.notes if "hold the outcome" in n)
    assert "'Churned' (the churned label)" in note and "'Lost' (the expanded label)" in note


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (
            lambda t: t.assign(amount=t["amount"].astype(object).where(t.index != 3, "n/a")),
            r"transactions.csv: column 'amount' has 1 non-numeric.*rows 5.*'n/a'",
        ),
        (
            lambda t: t.assign(date=t["date"].where(t.index != 0, "31/31/2024")),
            r"column 'date' has 1 unparseable date.*rows 2",
        ),
        (lambda t: t.drop(columns=["amount"]), r"required column 'amount' is missing"),
        (lambda t: t.rename(columns={"amount": "amont"}), r"did you mean 'amont'"),
        (
            lambda t: t.assign(account_id=t["account_id"].where(t.index % 3 == 0, "")),
            r"likely not the account id",
        ),
    ],
)
def test_bad_transactions_rejected(tmp_path, mutate, pattern):
    tables = make_tables(20)
    tables["transactions"] = mutate(tables["transactions"])
    folder = write_tables(tmp_path / "d", tables)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(InputError, match=pattern):
        load_dataset(folder, DataConfig())
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_empty_and_binary_files(tmp_path):
    (tmp_path / "transactions.csv").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_dataset(tmp_path, DataConfig())
    (tmp_path / "transactions.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(InputError, match="binary"):
        load_dataset(tmp_path, DataConfig())
    (tmp_path / "transactions.csv").write_text("account_id,date,amount\n")
    with pytest.raises(InputError, match="no rows"):
        load_dataset(tmp_path, DataConfig())


def test_duplicate_account_ids(tmp_path):
    tables = make_tables(10)
    tables["accounts"] = pd.concat([tables["accounts"], tables["accounts"].head(1)])
    with pytest.raises(InputError, match="appears 2 times"):
        load_dataset(write_tables(tmp_path, tables), DataConfig())


def test_unknown_mapped_column_is_config_error(tmp_path):
    write_tables(tmp_path, make_tables(10))
    with pytest.raises(ConfigError, match="unknown column 'amout'"):
        load_dataset(tmp_path, DataConfig(columns={"transactions": {"amout": "amount"}}))


def test_bom_crlf_timezones_and_unknown_accounts(tmp_path):
    text = "\ufeffaccount_id,date,amount\r\nX1,2024-01-05T10:00:00+02:00,10\r\nX2,2024-01-06 08:00,-5\r\n"
    (tmp_path / "transactions.csv").write_bytes(text.encode("utf-8"))
    (tmp_path / "accounts.csv").write_text('account_id,account_name\nX1,"Müller, ""Söhne"""\n')
    ds = load_dataset(tmp_path, DataConfig())
    assert ds.transactions["date"].iloc[0] == pd.Timestamp("2024-01-05 10:00")  # local time, zone dropped
    assert set(ds.accounts["account_id"]) == {"X1", "X2"}
    assert ds.accounts.set_index("account_id").loc["X1", "account_name"] == 'Müller, "Söhne"'
    assert any("not in accounts" in n for n in ds.notes)


def test_profile_type_inference_blank_numbers(tmp_path):
    write_tables(
        tmp_path,
        {
            "accounts": pd.DataFrame(
                {"cid": ["1", "2", "3"], "tenure": ["12", "", "7"], "partner": ["Yes", "No", "Yes"]}
            ),
            "labels": pd.DataFrame({"cid": ["1", "2", "3"], "churned": ["Yes", "No", "1"]}),
        },
    )
    config = DataConfig(columns={"accounts": {"account_id": "cid"}, "labels": {"account_id": "cid"}})
    ds = load_dataset(tmp_path, config)
    assert ds.accounts["tenure"].dtype == float and np.isnan(ds.accounts["tenure"].iloc[1])
    assert any("blank" in n for n in ds.notes)
    assert ds.labels["churned"].tolist() == [1.0, 0.0, 1.0]


def test_invalid_labels(tmp_path):
    write_tables(
        tmp_path,
        {
            "accounts": pd.DataFrame({"account_id": ["1", "2"]}),
            "labels": pd.DataFrame({"account_id": ["1", "2"], "churned": ["1", "maybe"]}),
        },
    )
    with pytest.raises(InputError, match="invalid label value.*'maybe'"):
        load_dataset(tmp_path, DataConfig())


def test_missing_folder():
    with pytest.raises(InputError, match="data folder not found"):
        load_dataset("/nonexistent/folder", DataConfig())


def test_duplicate_rows_policy(tmp_path):
    tables = make_tables(10)
    tables["transactions"] = pd.concat([tables["transactions"], tables["transactions"].head(4)])
    folder = write_tables(tmp_path, tables)
    kept = load_dataset(folder, DataConfig())
    dropped = load_dataset(folder, DataConfig(duplicate_rows="drop"))
    assert len(kept.transactions) - len(dropped.transactions) >= 4
    assert any("dropped" in n for n in dropped.notes) and any("kept" in n for n in kept.notes)


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from potential.errors import PotentialError  # noqa: E402

CELLS = st.one_of(
    st.text(max_size=12),
    st.integers(-(10**9), 10**9).map(str),
    st.floats(allow_nan=True).map(str),
    st.sampled_from(["2024-01-05", "20240105", "2024-13-40", "", "n/a", "=1+1", "1,234.5", "inf"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(CELLS, CELLS, CELLS), min_size=0, max_size=8),
    header=st.sampled_from(
        ["account_id,date,amount", "account_id,date", "id,date,amount", "account_id,date,amount,extra"]
    ),
)
def test_property_validator_rejects_clearly_or_returns_typed_frames(tmp_path_factory, rows, header):
    """Whatever the file holds: either a typed, valid dataset or one clear PotentialError — never another exception."""
    import csv
    import io

    folder = tmp_path_factory.mktemp("prop")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header.split(","))
    for row in rows:
        writer.writerow(list(row)[: len(header.split(","))])
    (folder / "transactions.csv").write_text(buffer.getvalue(), encoding="utf-8")
    try:
        ds = load_dataset(folder, DataConfig())
    except PotentialError as exc:
        assert str(exc) and "\n" not in str(exc).strip()
        return
    assert pd.api.types.is_datetime64_any_dtype(ds.transactions["date"])
    assert ds.transactions["amount"].dtype == float and np.isfinite(ds.transactions["amount"]).all()
    assert (ds.transactions["account_id"].str.len() > 0).all()


def test_a_churn_table_refusal_suggests_its_id_and_label_columns(tmp_path):
    """A telecom export read as accounts and labels: first its id column is suggested, then its label."""
    (tmp_path / "telco.csv").write_text(
        "customerID,gender,tenure,Churn\n7590-VHVEG,Female,1,No\n5575-GNVDE,Male,34,Yes\n", encoding="utf-8"
    )
    tables = {"accounts": "telco", "labels": "telco"}
    with pytest.raises(InputError, match=r"e.g. data.columns: \{accounts: \{account_id: customerID\}\}"):
        load_dataset(tmp_path, DataConfig(tables=tables))
    ids = {"accounts": {"account_id": "customerID"}, "labels": {"account_id": "customerID"}}
    with pytest.raises(InputError, match=r"e.g. data.columns: \{labels: \{churned: Churn\}\}"):
        load_dataset(tmp_path, DataConfig(tables=tables, columns=ids))
    labelled = {**ids, "labels": {"account_id": "customerID", "churned": "Churn"}}
    ds = load_dataset(tmp_path, DataConfig(tables=tables, columns=labelled))
    assert ds.labels["churned"].tolist() == [0, 1]
