"""The prediction store: every score, adviser feedback and outcome, and the API key hashes.

SQLAlchemy Core; a SQLite file by default (settings.store_url), PostgreSQL by URL. Times are
stored as naive UTC (the same on both engines) and come back as UTC-aware pandas timestamps.
Features are stored as JSON (the model's inputs change with its version) and expanded into
columns when read, for monitoring.
"""

import math
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from features.spec import CATEGORICAL, FEATURE_NAMES
from serving.records import (
    AUDIT_FIELDS,
    FeedbackRecord,
    OutcomeRecord,
    ScoreRecord,
    as_utc,
    now_utc,
)


class UTCDateTime(sa.types.TypeDecorator):
    """Naive UTC in the database, aware UTC in Python, whatever the engine's time zone."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


metadata = sa.MetaData()

scores_table = sa.Table(
    "scores", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # Unique: a score replayed from the service's journal after a crash is stored once.
    sa.Column("score_id", sa.String(32), nullable=True, unique=True),
    sa.Column("offer_id", sa.String(64), nullable=False, index=True),
    sa.Column("scored_at", UTCDateTime, nullable=False, index=True),
    sa.Column("offer_created_at", UTCDateTime, nullable=True),
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("model_version", sa.String(32), nullable=False),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("risk", sa.String(8), nullable=False),
    sa.Column("features", sa.JSON, nullable=False),
    *[sa.Column(f"audit_{name}", sa.String(64), nullable=False) for name in AUDIT_FIELDS],
)

feedback_table = sa.Table(
    "feedback", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("offer_id", sa.String(64), nullable=False, index=True),
    sa.Column("recorded_at", UTCDateTime, nullable=False, index=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("reason_code", sa.String(32), nullable=True),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("model_version", sa.String(32), nullable=True),
    sa.Column("risk", sa.String(8), nullable=True),
)

outcomes_table = sa.Table(
    "outcomes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("offer_id", sa.String(64), nullable=False, index=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("outcome_date", sa.Date, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

api_keys_table = sa.Table(
    "api_keys", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("key_hash", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)

SCORE_COLUMNS = ["offer_id", "scored_at", "offer_created_at", "model_name", "model_version",
                 "probability", "risk"]
AUDIT_COLUMNS = [f"audit_{name}" for name in AUDIT_FIELDS]
FEEDBACK_COLUMNS = ["offer_id", "recorded_at", "action", "reason_code", "client", "model_version",
                    "risk"]
OUTCOME_COLUMNS = ["offer_id", "outcome", "outcome_date", "recorded_at"]


def _json_value(value):
    """JSON has no NaN: a missing numeric feature is stored as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _utc_column(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True)


def create_store_engine(url: str) -> sa.Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            # WAL: the service writes while monitoring reads, without "database is locked".
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class PredictionStore:
    def __init__(self, url: str):
        self.url = url
        self.engine = create_store_engine(url)
        metadata.create_all(self.engine)

    def __repr__(self) -> str:
        return f"PredictionStore({make_url(self.url).render_as_string(hide_password=True)})"

    def close(self) -> None:
        self.engine.dispose()

    # --- scores -------------------------------------------------------------------------------
    def record_scores(self, scores: list[ScoreRecord]) -> None:
        if not scores:
            return
        """Stores scores once each: a score_id already stored is skipped (a journal replay)."""
        rows = [{
            "score_id": s.score_id, "offer_id": s.offer_id, "scored_at": s.scored_at,
            "offer_created_at": s.offer_created_at,
            "model_name": s.model_name, "model_version": s.model_version,
            "probability": float(s.probability), "risk": s.risk,
            "features": {k: _json_value(v) for k, v in s.features.items()},
            **{f"audit_{name}": str(s.audit.get(name, "unknown")) for name in AUDIT_FIELDS},
        } for s in scores]
        with self.engine.begin() as connection:
            rows = list({row["score_id"]: row for row in rows}.values())
            ids = [row["score_id"] for row in rows]
            stored = set()
            for start in range(0, len(ids), 500):  # bounded IN lists
                stored.update(connection.execute(sa.select(scores_table.c.score_id).where(
                    scores_table.c.score_id.in_(ids[start:start + 500]))).scalars())
            rows = [row for row in rows if row["score_id"] not in stored]
            if rows:
                connection.execute(scores_table.insert(), rows)

    def scores(self, start: datetime | None = None, end: datetime | None = None,
               limit: int | None = None) -> pd.DataFrame:
        """One row per score, oldest first (or the `limit` latest, still oldest first):
        the score columns, one column per feature, then the audit columns."""
        query = sa.select(scores_table)
        if start is not None:
            query = query.where(scores_table.c.scored_at >= as_utc(start))
        if end is not None:
            query = query.where(scores_table.c.scored_at < as_utc(end))
        if limit is not None:
            query = query.order_by(scores_table.c.id.desc()).limit(limit)
        else:
            query = query.order_by(scores_table.c.id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        if limit is not None:
            rows = list(reversed(rows))
        base = pd.DataFrame([{c: row[c] for c in SCORE_COLUMNS} for row in rows],
                            columns=SCORE_COLUMNS)
        features = pd.DataFrame([row["features"] for row in rows], index=base.index)
        if features.empty:
            features = pd.DataFrame(columns=list(FEATURE_NAMES), index=base.index)
        # Categorical features stay strings (missing: None); the others become float (NaN).
        for column in features.columns:
            if column in CATEGORICAL:
                values = features[column].astype(object)
                features[column] = values.where(values.notna(), None)
            else:
                features[column] = pd.to_numeric(features[column], errors="coerce").astype(float)
        audit = pd.DataFrame([{c: row[c] for c in AUDIT_COLUMNS} for row in rows],
                             columns=AUDIT_COLUMNS, index=base.index)
        frame = pd.concat([base, features, audit], axis=1)
        frame["scored_at"] = _utc_column(frame["scored_at"])
        frame["offer_created_at"] = _utc_column(frame["offer_created_at"])
        frame["probability"] = frame["probability"].astype(float)
        return frame

    # --- feedback and outcomes ----------------------------------------------------------------
    def record_feedback(self, feedback: FeedbackRecord) -> int:
        """Stores one adviser action; returns its id."""
        with self.engine.begin() as connection:
            result = connection.execute(feedback_table.insert().values(
                **{c: getattr(feedback, c) for c in FEEDBACK_COLUMNS}))
            return int(result.inserted_primary_key[0])

    def feedback(self, start: datetime | None = None, end: datetime | None = None) -> pd.DataFrame:
        query = sa.select(*[feedback_table.c[c] for c in FEEDBACK_COLUMNS]).order_by(
            feedback_table.c.id)
        if start is not None:
            query = query.where(feedback_table.c.recorded_at >= as_utc(start))
        if end is not None:
            query = query.where(feedback_table.c.recorded_at < as_utc(end))
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        frame = pd.DataFrame([dict(row) for row in rows], columns=FEEDBACK_COLUMNS)
        frame["recorded_at"] = _utc_column(frame["recorded_at"])
        return frame

    def record_outcome(self, outcome: OutcomeRecord) -> None:
        with self.engine.begin() as connection:
            connection.execute(outcomes_table.insert().values(
                **{c: getattr(outcome, c) for c in OUTCOME_COLUMNS}))

    def outcomes(self) -> pd.DataFrame:
        """One row per offer: its latest recorded outcome (a correction replaces an earlier one)."""
        query = sa.select(*[outcomes_table.c[c] for c in OUTCOME_COLUMNS]).order_by(
            outcomes_table.c.id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        frame = pd.DataFrame([dict(row) for row in rows], columns=OUTCOME_COLUMNS)
        frame = frame.drop_duplicates("offer_id", keep="last").reset_index(drop=True)
        frame["outcome_date"] = pd.to_datetime(frame["outcome_date"])
        frame["recorded_at"] = _utc_column(frame["recorded_at"])
        return frame

    # --- API keys (only their hashes) -----------------------------------------------------------
    def add_api_key(self, name: str, key_hash: str) -> None:
        """A new key for `name`; raises ValueError if `name` already has an active key
        (a revoked name may be given a new key)."""
        with self.engine.begin() as connection:
            existing = connection.execute(
                sa.select(api_keys_table.c.revoked_at).where(api_keys_table.c.name == name)).first()
            if existing is not None and existing.revoked_at is None:
                raise ValueError(f"an active API key named {name!r} already exists: "
                                 "revoke it first")
            if existing is not None:
                connection.execute(api_keys_table.delete().where(api_keys_table.c.name == name))
            connection.execute(api_keys_table.insert().values(
                name=name, key_hash=key_hash, created_at=now_utc(), revoked_at=None))

    def revoke_api_key(self, name: str) -> bool:
        """True if an active key of that name was revoked."""
        with self.engine.begin() as connection:
            result = connection.execute(
                api_keys_table.update()
                .where(api_keys_table.c.name == name, api_keys_table.c.revoked_at.is_(None))
                .values(revoked_at=now_utc()))
            return result.rowcount > 0

    def active_key_hashes(self) -> dict[str, str]:
        query = sa.select(api_keys_table.c.name, api_keys_table.c.key_hash).where(
            api_keys_table.c.revoked_at.is_(None))
        with self.engine.connect() as connection:
            return {row.name: row.key_hash for row in connection.execute(query)}

    def api_keys(self) -> pd.DataFrame:
        """Names and dates of all keys (never the hashes)."""
        query = sa.select(api_keys_table.c.name, api_keys_table.c.created_at,
                          api_keys_table.c.revoked_at).order_by(api_keys_table.c.created_at)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return pd.DataFrame([dict(row) for row in rows],
                            columns=["name", "created_at", "revoked_at"])
