"""The prediction store, on a SQLite file and on a real PostgreSQL server."""

import itertools
import math
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from features.spec import CATEGORICAL, FEATURE_NAMES
from serving.keys import hash_key, key_owner, new_key
from serving.records import FeedbackRecord, OutcomeRecord, ScoreRecord
from serving.store import PredictionStore

_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/nested/dir/predictions.db"
    server = request.getfixturevalue("postgres_url")
    name = f"store_{next(_databases)}"
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def store(store_url):
    store = PredictionStore(store_url)
    yield store
    store.close()


def features(salary: float | None = 30000.0, rome: str | None = "F1703") -> dict:
    values = {name: (None if name in CATEGORICAL else 1.0) for name in FEATURE_NAMES}
    values.update(rome_code=rome, contract_type="CDI", salary_yearly_low=salary,
                  salary_vs_market=math.nan)
    return values


AUDIT = {"region": "Bretagne", "employer_size_band": "10-49", "sector": "F",
         "contract_type": "CDI", "accessible_th": "no"}


def score(offer_id: str, at: datetime, probability: float = 0.7, **kw) -> ScoreRecord:
    return ScoreRecord(offer_id=offer_id, scored_at=at, offer_created_at=at - timedelta(days=1),
                       model_name="hardtofill", model_version="3", probability=probability,
                       risk="high" if probability > 0.6 else "low",
                       features=features(**kw), audit=AUDIT)


T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_scores_round_trip_with_features_expanded_and_audit_groups(store):
    store.record_scores([score("A1", T0), score("A2", T0 + timedelta(hours=1), 0.2, salary=None,
                                                rome=None)])
    frame = store.scores()
    assert list(frame.columns[:7]) == ["offer_id", "scored_at", "offer_created_at", "model_name",
                                       "model_version", "probability", "risk"]
    assert list(frame.columns[7:7 + len(FEATURE_NAMES)]) == list(FEATURE_NAMES)
    assert list(frame.columns[-5:]) == ["audit_region", "audit_employer_size_band", "audit_sector",
                                        "audit_contract_type", "audit_accessible_th"]
    assert frame["offer_id"].tolist() == ["A1", "A2"]
    assert frame["scored_at"].tolist() == [T0, T0 + timedelta(hours=1)]
    assert str(frame["scored_at"].dt.tz) == "UTC"
    assert frame["probability"].tolist() == [0.7, 0.2]
    assert frame["risk"].tolist() == ["high", "low"]
    assert frame["salary_yearly_low"].iloc[0] == 30000.0
    assert math.isnan(frame["salary_yearly_low"].iloc[1])
    assert math.isnan(frame["salary_vs_market"].iloc[0])  # NaN survives as missing
    assert frame["rome_code"].tolist() == ["F1703", None]
    assert frame["audit_region"].tolist() == ["Bretagne", "Bretagne"]


def test_scores_time_window_and_empty_store(store):
    empty = store.scores()
    assert empty.empty and "audit_region" in empty.columns and "rome_code" in empty.columns
    store.record_scores([score(f"O{i}", T0 + timedelta(days=i)) for i in range(5)])
    window = store.scores(start=T0 + timedelta(days=1), end=T0 + timedelta(days=3))
    assert window["offer_id"].tolist() == ["O1", "O2"]
    # Naive datetimes are UTC.
    naive = store.scores(start=(T0 + timedelta(days=4)).replace(tzinfo=None))
    assert naive["offer_id"].tolist() == ["O4"]
    assert store.scores(limit=2)["offer_id"].tolist() == ["O3", "O4"]


def test_feedback_and_outcomes(store):
    first = store.record_feedback(FeedbackRecord(offer_id="A1", action="disagreed",
                                                 reason_code="recruiter_known_fast",
                                                 client="agence-rennes", model_version="3",
                                                 risk="high", recorded_at=T0))
    second = store.record_feedback(FeedbackRecord(offer_id="A2", action="prioritised"))
    assert second > first
    frame = store.feedback()
    assert frame["offer_id"].tolist() == ["A1", "A2"]
    assert frame.iloc[0][["action", "reason_code", "client", "model_version", "risk"]].tolist() == \
        ["disagreed", "recruiter_known_fast", "agence-rennes", "3", "high"]
    assert frame["reason_code"].isna().iloc[1]
    assert store.feedback(end=T0 + timedelta(seconds=1))["offer_id"].tolist() == ["A1"]

    def outcome(offer_id, what, day):
        store.record_outcome(OutcomeRecord(offer_id=offer_id, outcome=what, outcome_date=day))

    outcome("A1", "filled", date(2024, 3, 20))
    outcome("A2", "abandoned", date(2024, 4, 2))
    # A correction replaces the earlier outcome of the same offer.
    outcome("A1", "cancelled", date(2024, 3, 22))
    outcomes = store.outcomes().set_index("offer_id")
    assert outcomes.loc["A1", "outcome"] == "cancelled"
    assert outcomes.loc["A1", "outcome_date"] == pd.Timestamp("2024-03-22")
    assert outcomes.loc["A2", "outcome"] == "abandoned"
    assert len(outcomes) == 2


def test_records_refuse_free_text_and_unknown_codes():
    with pytest.raises(ValidationError):
        FeedbackRecord(offer_id="A1", action="disagreed", reason_code="le recruteur est M. Dupont")
    with pytest.raises(ValidationError):
        FeedbackRecord(offer_id="A1", action="disagreed", comment="call 06 12 34 56 78")
    with pytest.raises(ValidationError):
        OutcomeRecord(offer_id="A1", outcome="pourvue", outcome_date=date(2024, 1, 1))


def test_api_keys_only_hashes_revocation(store):
    key = new_key()
    store.add_api_key("dashboard", hash_key(key))
    hashes = store.active_key_hashes()
    assert hashes == {"dashboard": hash_key(key)}
    assert key not in str(hashes)
    assert key_owner(key, hashes) == "dashboard"
    assert key_owner(key + "x", hashes) is None
    with pytest.raises(ValueError, match="already exists"):
        store.add_api_key("dashboard", hash_key(new_key()))
    assert store.revoke_api_key("dashboard") is True
    assert store.revoke_api_key("dashboard") is False
    assert store.active_key_hashes() == {}
    assert key_owner(key, store.active_key_hashes()) is None
    again = new_key()
    store.add_api_key("dashboard", hash_key(again))  # a revoked name may get a new key
    assert key_owner(again, store.active_key_hashes()) == "dashboard"


def test_data_survive_a_new_store_object(store_url):
    first = PredictionStore(store_url)
    first.record_scores([score("A1", T0)])
    first.record_feedback(FeedbackRecord(offer_id="A1", action="contacted_recruiter"))
    first.close()
    second = PredictionStore(store_url)
    assert second.scores()["offer_id"].tolist() == ["A1"]
    assert second.feedback()["action"].tolist() == ["contacted_recruiter"]
    second.close()


def test_record_scores_stores_each_score_id_once(store):
    """The contract a replayed write journal relies on: writing the same scores again stores nothing."""
    batch = [score(f"B{i}", T0 + timedelta(minutes=i)) for i in range(5)]
    assert store.record_scores(batch) == 5
    assert store.record_scores(batch) == 0  # replayed whole
    later = score("B9", T0 + timedelta(hours=1))
    assert store.record_scores([*batch[3:], later, later]) == 1  # partly replayed, one repeated
    first, second = score("C1", T0), score("C2", T0)
    twin = second.model_copy(update={"score_id": first.score_id, "offer_id": "C9"})
    assert store.record_scores([first, second, twin]) == 2  # in order, the first of each id
    changed = batch[0].model_copy(update={"probability": 0.1})
    assert store.record_scores([changed]) == 0  # same id: the stored score stands
    frame = store.scores()
    assert frame["offer_id"].tolist() == ["B0", "B1", "B2", "B3", "B4", "B9", "C1", "C2"]
    assert frame["probability"].iloc[0] == 0.7
    assert store.record_scores([]) == 0
    with pytest.raises(ValidationError):  # a score id carries no free text
        ScoreRecord(**{**score("B1", T0).model_dump(), "score_id": "jean.dupont@example.fr"})


def test_feedback_request_with_a_key_is_stored_once(store):
    from serving.store import IdempotencyKeyReused

    key = "8e03978e-40d5-43e8-bc93-6894a57f9324"
    action = FeedbackRecord(offer_id="K1", action="disagreed", reason_code="other", client="agence")
    outcome = OutcomeRecord(offer_id="K1", outcome="filled", outcome_date=date(2024, 3, 2))
    first = store.record_feedback_request(action, outcome, client="agence", idempotency_key=key, fingerprint="f1")
    again = store.record_feedback_request(action, outcome, client="agence", idempotency_key=key, fingerprint="f1")
    assert first.feedback_id is not None and first.outcome_recorded and not first.replayed
    assert (again.feedback_id, again.outcome_recorded, again.replayed) == (first.feedback_id, True, True)
    assert len(store.feedback()) == 1 and len(store.outcomes()) == 1
    with pytest.raises(IdempotencyKeyReused):
        store.record_feedback_request(action, None, client="agence", idempotency_key=key, fingerprint="f2")
    # keys belong to a client: another dashboard's identical key is another request
    other = store.record_feedback_request(action, None, client="agence-2", idempotency_key=key, fingerprint="f1")
    assert not other.replayed and other.feedback_id != first.feedback_id
    # without a key, every request is stored
    store.record_feedback_request(None, outcome, client="agence")
    store.record_feedback_request(None, outcome, client="agence")
    assert len(store.feedback()) == 2


def test_concurrent_twins_with_one_key_store_one_row(store):
    from concurrent.futures import ThreadPoolExecutor

    key = "0b9bb7d1-53c6-4a5c-9a8e-5b1f2c3d4e5f"
    action = FeedbackRecord(offer_id="T1", action="prioritised", client="agence")

    def send(_):
        return store.record_feedback_request(action, None, client="agence", idempotency_key=key, fingerprint="f")

    with ThreadPoolExecutor(6) as pool:
        receipts = list(pool.map(send, range(12)))
    assert len({r.feedback_id for r in receipts}) == 1
    assert sum(not r.replayed for r in receipts) == 1
    assert len(store.feedback()) == 1
