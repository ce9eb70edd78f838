"""Reading a table by its distinct values and in file order: the same frames, errors and notes as row by row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from potential.config import DataConfig
from potential.data.schema import Distinct, load_dataset
from potential.errors import InputError

HEADER = "account_id,date,amount\n"


def write(folder, rows: list[tuple[str, str, str]], name: str = "transactions.csv"):
    folder.mkdir(parents=True, exist_ok=True)
    text = HEADER + "".join(f'{a},"{d}","{m}"\n' for a, d, m in rows)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def repeated(n: int = 200) -> list[tuple[str, str, str]]:
    """n events over three days and three amounts: values repeat, as events' dates and quantities do."""
    days = ["2024-01-05", "2024-01-06", "2024-01-07"]
    return [(f"A{i % 7}", days[i * 3 // n], ("10", "20.5", "7")[i % 3]) for i in range(n)]


def test_distinct_values_keep_the_order_of_first_appearance():
    values = pd.Series(["b", "a", "b", None, "c", "a"], dtype="str")
    distinct = Distinct.of(values)
    assert distinct.values.fillna("-").tolist() == ["b", "a", "-", "c"]  # a missing value is a value too
    assert distinct.codes.tolist() == [0, 1, 0, 2, 3, 1]
    spread = distinct.spread(pd.Series([1.0, 2.0, 3.0, 4.0]), values.index)
    assert spread.tolist() == [1.0, 2.0, 1.0, 3.0, 4.0, 2.0]


def test_repeated_dates_and_amounts_are_read_per_value(tmp_path):
    data = load_dataset(write(tmp_path, repeated()), DataConfig())
    tx = data.transactions
    assert len(tx) == 200
    assert tx["date"].dt.strftime("%Y-%m-%d").value_counts().to_dict() == {
        "2024-01-05": 67,
        "2024-01-06": 67,
        "2024-01-07": 66,
    }
    assert sorted(tx["amount"].unique()) == [7.0, 10.0, 20.5]
    assert tx["amount"].sum() == pytest.approx(67 * 10 + 67 * 20.5 + 66 * 7)


def test_a_bad_repeated_date_is_refused_with_the_rows_of_the_file(tmp_path):
    rows = repeated()
    rows[150] = (rows[150][0], "2024-13-45", rows[150][2])
    rows[151] = (rows[151][0], "2024-13-45", rows[151][2])
    with pytest.raises(
        InputError, match=r"'date' has 2 unparseable date\(s\) \(rows 152, 153, e\.g\. '2024-13-45'"
    ):
        load_dataset(write(tmp_path, rows), DataConfig())


def test_blank_repeated_amounts_are_refused_with_the_rows_of_the_file(tmp_path):
    rows = repeated()
    for i in (42, 77):
        rows[i] = (rows[i][0], rows[i][1], " ")
    with pytest.raises(InputError, match=r"'amount' has 2 empty value\(s\) \(rows 44, 79\)"):
        load_dataset(write(tmp_path, rows), DataConfig())


def test_mixed_decimals_in_repeated_amounts_name_the_first_rows(tmp_path):
    rows = repeated()
    rows[5] = (rows[5][0], rows[5][1], "3,25")
    with pytest.raises(
        InputError, match=r"mixes a decimal point and a decimal comma \(rows 3, 7, e\.g\. '20\.5', '3,25'"
    ):
        load_dataset(write(tmp_path, rows), DataConfig())


def test_day_first_note_quotes_the_first_row_that_settles_it(tmp_path):
    days = ["03/02/2024", "05/01/2024", "31/01/2024", "14/02/2024"]
    rows = [(f"A{i}", days[i % 4], "10") for i in range(100)]
    data = load_dataset(write(tmp_path, rows), DataConfig())
    assert (
        "transactions.csv: column 'date' has day-first dates (e.g. '31/01/2024'); read as day/month/year."
        in data.notes
    )
    assert data.transactions["date"].min() == pd.Timestamp("2024-01-05")
    assert data.transactions["date"].max() == pd.Timestamp("2024-02-14")


def test_events_in_date_order_but_not_account_order_are_sorted(tmp_path):
    rows = [
        ("B", "2024-01-05", "1"),
        ("A", "2024-01-05", "2"),
        ("C", "2024-01-04", "3"),
        ("A", "2024-01-06", "4"),
    ]
    tx = load_dataset(write(tmp_path, rows), DataConfig()).transactions
    assert tx["account_id"].tolist() == ["C", "A", "B", "A"]
    assert tx["amount"].tolist() == [3.0, 2.0, 1.0, 4.0]
    assert tx.index.tolist() == [0, 1, 2, 3]


def test_events_in_order_are_kept_and_their_duplicates_counted(tmp_path):
    rows = [
        ("A", "2024-01-05", "1"),
        ("A", "2024-01-05", "1"),
        ("B", "2024-01-05", "2"),
        ("A", "2024-01-06", "4"),
    ]
    data = load_dataset(write(tmp_path, rows), DataConfig())
    assert data.transactions["amount"].tolist() == [1.0, 1.0, 2.0, 4.0]
    assert (
        "transactions.csv: kept 1 exact duplicate row(s); set data.duplicate_rows: drop to remove them."
        in (data.notes)
    )
    dropped = load_dataset(tmp_path, DataConfig(duplicate_rows="drop")).transactions
    assert dropped["amount"].tolist() == [1.0, 2.0, 4.0]


def test_padded_ids_and_text_are_stripped_and_clean_text_is_kept(tmp_path):
    (tmp_path / "transactions.csv").write_text(
        'account_id,date,amount,product\n" A1 ",2024-01-05,10," P1"\nA2,2024-01-05,5,P2\n', encoding="utf-8"
    )
    tx = load_dataset(tmp_path, DataConfig()).transactions
    assert tx["account_id"].tolist() == ["A1", "A2"]
    assert tx["product"].tolist() == ["P1", "P2"]
    assert np.isnan(tx["amount"].to_numpy()).sum() == 0


def test_a_folder_without_a_transactions_table_names_the_setting_for_the_file_it_holds(tmp_path):
    """The refusal is made from the names alone: the file is not read (here it is not even gzip)."""
    folder = write(tmp_path / "data", repeated(3), name="orders.csv.gz")
    pattern = r"found: orders.csv.gz\).*data.tables: \{transactions: orders\} reads orders.csv.gz"
    with pytest.raises(InputError, match=pattern):
        load_dataset(folder, DataConfig())


def test_a_data_tables_entry_without_its_file_is_refused_not_passed_over(tmp_path):
    """tables: {accounts: customers} with no customers file used to read no accounts at all (the folder's
    accounts.csv passed over); it names the entry, the closest file and what is there."""
    folder = write(tmp_path / "data", repeated(3))
    (folder / "accounts.csv").write_text("account_id,industry\nA0,retail\n", encoding="utf-8")
    pattern = r"data.tables.accounts names 'customer', but there is no customer.csv.*found: accounts.csv, transactions.csv"
    with pytest.raises(InputError, match=pattern):
        load_dataset(folder, DataConfig(tables={"accounts": "customer"}))
    with pytest.raises(
        InputError, match=r"data.tables.transactions names 'transaction'.*did you mean 'transactions'"
    ):
        load_dataset(folder, DataConfig(tables={"transactions": "transaction"}))
