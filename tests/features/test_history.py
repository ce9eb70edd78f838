import numpy as np
import pandas as pd
import pytest

from potential.config import FeatureConfig
from potential.data.schema import Dataset
from potential.features.build import build_features
from potential.features.registry import describe, lookup, phrase

AS_OF = pd.Timestamp("2024-07-01")


def dataset(
    tx: pd.DataFrame, accounts: pd.DataFrame | None = None, activities: pd.DataFrame | None = None
) -> Dataset:
    tx = tx.assign(date=pd.to_datetime(tx["date"]), amount=tx["amount"].astype(float))
    ids = sorted(set(tx["account_id"]) | (set(accounts["account_id"]) if accounts is not None else set()))
    if accounts is None:
        accounts = pd.DataFrame({"account_id": ids})
    if activities is not None:
        activities = activities.assign(date=pd.to_datetime(activities["date"]))
    return Dataset(accounts, tx, activities, None)


def test_windows_recency_and_trend_by_hand():
    tx = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "a", "b"],
            "date": ["2024-06-30", "2024-06-01", "2024-03-01", "2023-12-01", "2024-01-15"],
            "amount": [100, 50, 20, 30, 10],
        }
    )
    f = build_features(dataset(tx), AS_OF, FeatureConfig())
    a = f.loc["a"]
    assert a["spend_30d"] == 150  # 06-30 (1 day) and 06-01 (30 days)
    assert a["spend_90d"] == 150
    assert a["spend_180d"] == 170
    assert a["spend_365d"] == 200
    assert a["orders_365d"] == 4
    assert a["days_since_last_purchase"] == 1
    assert a["spend_trend_90d"] == 5.0  # +650% is capped at +500%
    assert a["spend_trend_180d"] == pytest.approx((170 - 30) / 30)
    assert f.loc["b", "days_since_last_purchase"] == (AS_OF - pd.Timestamp("2024-01-15")).days


def test_purchase_rhythm_by_hand():
    # a: purchase days 0, 10, 20, 40 (rows unsorted, a same-day repeat and a refund that is no purchase);
    # b: two purchase days only; the order at the as-of is the future and counts for no one
    start = pd.Timestamp("2024-01-01")
    day = lambda d: (start + pd.Timedelta(days=d)).date().isoformat()  # noqa: E731
    tx = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "a", "a", "a", "b", "b", "a"],
            "date": [day(20), day(0), day(40), day(10), day(10), day(30), day(0), day(5), "2024-07-01"],
            "amount": [10, 10, 10, 10, 5, -3, 10, 10, 10],
        }
    )
    f = build_features(dataset(tx), AS_OF, FeatureConfig())
    gaps = np.array([10.0, 10.0, 20.0])
    assert f.loc["a", "purchase_gap_mean_days"] == pytest.approx(gaps.mean())
    assert f.loc["a", "purchase_gap_cv"] == pytest.approx(gaps.std() / gaps.mean())
    assert f.loc["a", "purchase_gap_last_ratio"] == pytest.approx(20.0 / gaps.mean())
    assert np.isnan(f.loc["b", "purchase_gap_cv"]) and np.isnan(f.loc["b", "purchase_gap_last_ratio"])
    # at an earlier cutoff only the days before it count: 0, 10, 20
    early = build_features(dataset(tx), start + pd.Timedelta(days=25), FeatureConfig())
    assert early.loc["a", "purchase_gap_cv"] == pytest.approx(0.0)
    assert early.loc["a", "purchase_gap_last_ratio"] == pytest.approx(1.0)


def test_refunds_and_deal_size():
    tx = pd.DataFrame(
        {
            "account_id": ["a"] * 3,
            "date": ["2024-05-01", "2024-05-02", "2024-05-03"],
            "amount": [100, 300, -50],
        }
    )
    a = build_features(dataset(tx), AS_OF, FeatureConfig()).loc["a"]
    assert a["refund_share_365d"] == pytest.approx(50 / 400)
    assert a["avg_deal_365d"] == pytest.approx(200)
    assert a["spend_365d"] == 350


def test_engagement_and_exec_contacts():
    tx = pd.DataFrame({"account_id": ["a", "b"], "date": ["2024-05-01", "2024-05-01"], "amount": [1, 1]})
    act = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "b"],
            "date": ["2024-06-20", "2024-06-10", "2023-01-01", "2024-06-01"],
            "kind": ["Exec Meeting", "email", "meeting", "email"],
            "contact_id": ["x", "y", "y", "z"],
        }
    )
    f = build_features(dataset(tx, activities=act), AS_OF, FeatureConfig())
    assert f.loc["a", "exec_contacts_180d"] == 1
    assert f.loc["b", "exec_contacts_180d"] == 0
    assert np.isnan(f.loc["b", "days_since_exec_contact"])
    assert f.loc["a", "distinct_contacts_365d"] == 2
    assert f.loc["a", "activities_365d"] == 2


def test_activity_against_its_own_usual_pace():
    """activity_trend_30d: the last 30 days against the account's average 30 days over the 335 before."""
    tx = pd.DataFrame({"account_id": ["a", "b"], "date": ["2024-05-01", "2024-05-01"], "amount": [1, 1]})
    days = pd.date_range("2023-08-01", periods=11, freq="30D")  # one activity a month, all before June
    act = pd.DataFrame(
        {
            "account_id": ["a"] * 11 + ["a"] * 3 + ["b"] * 11,
            "date": list(days) + [pd.Timestamp("2024-06-20")] * 3 + list(days),
            "kind": "meeting",
        }
    )
    f = build_features(dataset(tx, activities=act), AS_OF, FeatureConfig())
    # a: 3 in the last 30 days vs 11 in the 335 days before (0.985 per 30 days)
    assert f.loc["a", "activity_trend_30d"] == pytest.approx(3 / (11 * 30 / 335) - 1)
    assert f.loc["b", "activity_trend_30d"] == pytest.approx(-1.0)  # quiet this month


def test_peer_headroom_and_prospects():
    rng = np.random.default_rng(1)
    ids = [f"x{i}" for i in range(20)]
    tx = pd.DataFrame(
        {"account_id": ids[:19], "date": ["2024-05-01"] * 19, "amount": rng.uniform(100, 1000, 19).round(2)}
    )
    accounts = pd.DataFrame({"account_id": ids, "industry": ["retail"] * 20, "employees": [100.0] * 20})
    f = build_features(dataset(tx, accounts), AS_OF, FeatureConfig())
    spend = f["spend_365d"]
    p75 = spend[f["is_prospect"] == 0].quantile(0.75)
    assert f["peer_p75_spend_365d"].iloc[0] == pytest.approx(p75)
    assert (f["peer_gap_to_p75"] == (p75 - spend).clip(lower=0)).all()
    assert f.loc["x19", "is_prospect"] == 1
    assert f.loc["x19", "peer_spend_percentile"] == 0
    assert f["potential_multiple"].notna().all()


def test_registry_describes_every_feature(data_dir):
    from potential.config import DataConfig
    from potential.data.schema import load_dataset

    dataset = load_dataset(data_dir, DataConfig())
    f = build_features(dataset, pd.Timestamp("2025-01-01"), FeatureConfig())
    profile = set(dataset.accounts.columns)
    computed = [c for c in f.columns if c not in profile]
    assert len(computed) > 30
    for column in computed:  # computed features are described by the registry, not by the fallback
        text = describe(column)
        assert text and "{" not in text and lookup(column) is not None, column
    assert phrase("spend_trend_90d", -0.38) == "Spend fell 38% vs the previous 90 days"
    assert phrase("exec_contacts_180d", 0) == "No executive contact in 180 days"
    assert "nan" not in phrase("days_since_exec_contact", float("nan")).lower()


def test_inputs_not_modified(data_dir):
    from potential.config import DataConfig
    from potential.data.schema import load_dataset

    ds = load_dataset(data_dir, DataConfig())
    before = ds.transactions.copy()
    build_features(ds, pd.Timestamp("2025-01-01"), FeatureConfig())
    pd.testing.assert_frame_equal(ds.transactions, before)


def test_profile_column_named_like_a_feature_does_not_collide():
    tx = pd.DataFrame(
        {"account_id": ["a", "b"], "date": ["2024-05-01", "2024-06-01"], "amount": [100.0, 50.0]}
    )
    accounts = pd.DataFrame({"account_id": ["a", "b"], "spend_365d": [9e9, 9e9], "is_prospect": ["no", "no"]})
    f = build_features(dataset(tx, accounts), AS_OF, FeatureConfig())
    assert f.columns.is_unique
    assert f.loc["a", "spend_365d"] == 100.0


def test_account_and_text_codes_by_hand():
    from potential.features.history import account_codes, text_codes

    index = pd.Index(["a", "b", "c"], name="account_id")
    ids = pd.Series(["c", "a", "zz", "c", None], dtype="str")
    assert account_codes(ids, index).tolist() == [2, 0, -1, 2, -1]  # unknown and missing ids: -1
    codes = text_codes(pd.Series(["p2", "", "p1", "p2", None, "p3"], dtype="str"))
    assert codes.tolist() == [0, -1, 2, 0, -1, 3]  # first-appearance codes; blank and missing: -1
    assert codes.dtype == np.int32
    stored = pd.Series(["p2", "", "p1", "p2", "", "p3"], dtype="category")  # as the reader stores event text
    assert text_codes(stored).tolist() == [0, -1, 2, 0, -1, 3]  # numbered as text is


def test_features_are_the_same_from_event_text_stored_as_categories_or_as_text(tmp_path):
    from potential.config import DataConfig
    from potential.data.schema import load_dataset
    from potential.synthetic.portfolio import generate_portfolio, write_portfolio

    write_portfolio(generate_portfolio(300, 24, 3), tmp_path)  # contacts with roles, as CSV
    ds = load_dataset(tmp_path, DataConfig())
    stored = {
        "transactions": ["account_id", "product"],
        "activities": ["account_id", "kind", "contact_id", "contact_role", "seniority"],
    }
    for table, columns in stored.items():
        frame = getattr(ds, table)
        for column in columns:
            assert isinstance(frame[column].dtype, pd.CategoricalDtype), (table, column)
    as_text = {t: getattr(ds, t).astype({c: str for c in cs}) for t, cs in stored.items()}
    plain = Dataset(ds.accounts, as_text["transactions"], as_text["activities"], ds.labels)
    as_of = pd.Timestamp("2025-01-01")
    pd.testing.assert_frame_equal(
        build_features(ds, as_of, FeatureConfig()), build_features(plain, as_of, FeatureConfig())
    )


@pytest.mark.parametrize("numbered", [False, True])
def test_first_rows_finds_each_keys_earliest_row_in_any_row_order(numbered):
    from potential.features.history import first_rows

    keys = np.array([0, 1, 0, 2, 1, 2])
    in_time = np.array([1.0, 1.0, 1.0, 2.0, 3.0, 4.0])  # ties: the first row of the tie wins
    assert first_rows(keys, in_time, numbered=numbered).tolist() == [0, 1, 3]
    shuffled = np.array([5.0, 1.0, 2.0, 4.0, 0.5, 3.0])  # not in time order: sorted by key, then time
    assert sorted(first_rows(keys, shuffled, numbered=numbered).tolist()) == [2, 4, 5]


def test_new_contacts_count_a_contact_id_shared_by_two_accounts_for_each():
    tx = pd.DataFrame({"account_id": ["a", "b"], "date": ["2024-01-01", "2024-01-01"], "amount": [1, 1]})
    act = pd.DataFrame(
        {
            "account_id": ["a", "b", "a", "b"],
            "date": ["2024-06-20", "2024-06-21", "2024-06-22", "2023-01-01"],
            "kind": ["email"] * 4,
            "contact_id": ["shared@x", "shared@x", "own@a", "old@b"],
        }
    )
    f = build_features(dataset(tx, activities=act), AS_OF, FeatureConfig())
    assert f.loc["a", "new_contacts_90d"] == 2  # shared@x and own@a, first seen in the last 90 days
    assert f.loc["b", "new_contacts_90d"] == 1  # shared@x is new to b too; old@b is not new
    assert f.loc["b", "distinct_contacts_365d"] == 1


def test_kind_counts_before_as_of_by_slug():
    from potential.features.engagement import kind_counts, top_kinds

    act = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-08-01", "2024-01-05"]),
            "kind": ["Exec Meeting", "exec meeting", "email", "call", None],
        }
    )
    counts = kind_counts(act, AS_OF)
    assert counts.to_dict() == {"email": 1, "exec_meeting": 2}  # the call is after the as-of
    assert top_kinds(counts) == ("exec_meeting", "email")
