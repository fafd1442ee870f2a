"""The prediction store: every score, adviser feedback and outcome, and the API key hashes.

SQLAlchemy Core; a SQLite file by default (settings.store_url), PostgreSQL by URL. Times are
stored as naive UTC (the same on both engines) and come back as UTC-aware pandas timestamps.
Features are stored as JSON (the model's inputs change with its version) and expanded into
columns when read, for monitoring.

The schema is migrated with Alembic (serving/migrate.py, serving/migrations/): opening a store
upgrades it to the latest revision. The tables below describe that revision (a test checks that
they agree); a change to them needs a new revision.
"""

import hashlib
import json
import logging
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import orjson
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
    sa.Column("score_id", sa.String(64), nullable=False),
    sa.Column("offer_id", sa.String(64), nullable=False, index=True),
    sa.Column("scored_at", UTCDateTime, nullable=False, index=True),
    sa.Column("offer_created_at", UTCDateTime, nullable=True),
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("model_version", sa.String(32), nullable=False),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("risk", sa.String(8), nullable=False),
    sa.Column("features", sa.JSON, nullable=False),
    *[sa.Column(f"audit_{name}", sa.String(64), nullable=False) for name in AUDIT_FIELDS],
    sa.Index("uq_scores_score_id", "score_id", unique=True),
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

# The Idempotency-Key of each /feedback request (per client) and what it stored (revision 0003).
feedback_requests_table = sa.Table(
    "feedback_requests", metadata,
    sa.Column("client", sa.String(64), primary_key=True),
    sa.Column("idempotency_key", sa.String(36), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("offer_id", sa.String(64), nullable=False),
    sa.Column("feedback_id", sa.Integer, nullable=True),
    sa.Column("outcome_id", sa.Integer, nullable=True),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

log = logging.getLogger("bentoml.hardtofill")

SCORE_COLUMNS = ["offer_id", "scored_at", "offer_created_at", "model_name", "model_version",
                 "probability", "risk"]
AUDIT_COLUMNS = [f"audit_{name}" for name in AUDIT_FIELDS]
FEEDBACK_COLUMNS = ["offer_id", "recorded_at", "action", "reason_code", "client", "model_version",
                    "risk"]
OUTCOME_COLUMNS = ["offer_id", "outcome", "outcome_date", "recorded_at"]


def _utc_column(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True)


class FeedbackReceipt(NamedTuple):
    """What a /feedback request stored: the feedback row's id (None without an action), whether an
    outcome was stored, and whether this is the answer to an earlier request with the same key."""

    feedback_id: int | None
    outcome_recorded: bool
    replayed: bool = False


class IdempotencyKeyReused(ValueError):
    """The client sent an Idempotency-Key it had already used for another request body."""


def request_fingerprint(body: dict) -> str:
    """SHA-256 of a request body (canonical JSON): tells a retry from another request."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _insert_ignoring(table: sa.Table, dialect: str, key: str):
    """INSERT that skips rows whose `key` is already stored (ON CONFLICT DO NOTHING)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise NotImplementedError(f"prediction store: no idempotent insert for {dialect!r} (SQLite, PostgreSQL)")
    return insert(table).on_conflict_do_nothing(index_elements=[key])


def _enable_wal(cursor, attempts: int = 60) -> None:
    """Put the database in WAL mode (a setting kept in the file, so set once per database).

    Switching needs a moment alone with the file, and SQLite answers "database is locked" at once,
    without waiting out the busy timeout, when another connection opens the same new file in the
    same instant (threads or processes starting together): so wait and try again."""
    for attempt in range(attempts):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(min(0.01 * 2 ** attempt, 0.5))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_text(value) -> str:
    """JSON columns' text: orjson (the score writer stores thousands of feature dicts a second;
    the standard encoder was most of its time). NaN and infinities become null, as JSON has none."""
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def create_store_engine(url: str) -> sa.Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30}, json_serializer=json_text)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            # WAL: the service writes while monitoring reads, without "database is locked".
            cursor = dbapi_connection.cursor()
            _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, json_serializer=json_text)


class PredictionStore:
    def __init__(self, url: str):
        self.url = url
        self.engine = create_store_engine(url)
        self._active_keys_sql: str | None = None
        # A SQLite file or memory store on this machine (no network between the service and it).
        self.local = self.engine.dialect.name == "sqlite"
        from serving.migrate import upgrade_store

        before, after = upgrade_store(url, self.engine)
        if before != after:
            log.info("prediction store schema upgraded from revision %s to %s", before or "none", after)

    def __repr__(self) -> str:
        return f"PredictionStore({make_url(self.url).render_as_string(hide_password=True)})"

    def close(self) -> None:
        self.engine.dispose()

    # --- scores -------------------------------------------------------------------------------
    def record_scores(self, scores: list[ScoreRecord]) -> int:
        """Store scores, each at most once: a score whose `score_id` is already stored (or repeated
        in `scores`) is skipped, whatever its other fields, so writing the same scores again (a
        retry, a journal replayed after a crash) stores nothing twice. All the new rows are written
        in one transaction, or none. Returns how many were newly stored."""
        first: dict[str, ScoreRecord] = {}
        for record in scores:
            first.setdefault(record.score_id, record)
        unique = list(first.values())
        if not unique:
            return 0
        rows = [{
            "score_id": s.score_id, "offer_id": s.offer_id, "scored_at": s.scored_at,
            "offer_created_at": s.offer_created_at,
            "model_name": s.model_name, "model_version": s.model_version,
            "probability": float(s.probability), "risk": s.risk,
            "features": s.features,  # NaN stored as null by json_text
            **{f"audit_{name}": str(s.audit.get(name, "unknown")) for name in AUDIT_FIELDS},
        } for s in unique]
        insert = _insert_ignoring(scores_table, self.engine.dialect.name, "score_id")
        with self.engine.begin() as connection:
            stored = connection.execute(insert.returning(scores_table.c.score_id), rows).all()
        return len(stored)

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

    def record_feedback_request(self, feedback: FeedbackRecord | None, outcome: OutcomeRecord | None, *,
                                client: str, idempotency_key: str | None = None,
                                fingerprint: str = "") -> FeedbackReceipt:
        """Store one /feedback request (an action and/or an outcome) in one transaction.

        With an `idempotency_key` (per `client`), a request already stored under that key is not
        stored again: its receipt comes back with `replayed=True` (two concurrent twins: one
        stores, the other gets its receipt). The same key with another `fingerprint` raises
        IdempotencyKeyReused."""
        offer_id = (feedback or outcome).offer_id
        if idempotency_key is not None:
            earlier = self._feedback_receipt(client, idempotency_key, fingerprint)
            if earlier is not None:
                return earlier
        try:
            with self.engine.begin() as connection:
                if idempotency_key is not None:  # claimed first: a concurrent twin fails here
                    connection.execute(feedback_requests_table.insert().values(
                        client=client, idempotency_key=idempotency_key, fingerprint=fingerprint,
                        offer_id=offer_id, recorded_at=now_utc()))
                ids: dict[str, int | None] = {"feedback_id": None, "outcome_id": None}
                if feedback is not None:
                    ids["feedback_id"] = int(connection.execute(feedback_table.insert().values(
                        **{c: getattr(feedback, c) for c in FEEDBACK_COLUMNS})).inserted_primary_key[0])
                if outcome is not None:
                    ids["outcome_id"] = int(connection.execute(outcomes_table.insert().values(
                        **{c: getattr(outcome, c) for c in OUTCOME_COLUMNS})).inserted_primary_key[0])
                if idempotency_key is not None:
                    connection.execute(feedback_requests_table.update().where(
                        feedback_requests_table.c.client == client,
                        feedback_requests_table.c.idempotency_key == idempotency_key).values(**ids))
        except sa.exc.IntegrityError:
            earlier = None if idempotency_key is None else self._feedback_receipt(
                client, idempotency_key, fingerprint)
            if earlier is None:
                raise
            return earlier
        return FeedbackReceipt(ids["feedback_id"], ids["outcome_id"] is not None)

    def _feedback_receipt(self, client: str, key: str, fingerprint: str) -> FeedbackReceipt | None:
        table = feedback_requests_table
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(table).where(
                table.c.client == client, table.c.idempotency_key == key)).first()
        if row is None:
            return None
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused(key)
        return FeedbackReceipt(row.feedback_id, row.outcome_id is not None, replayed=True)

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
        """Name -> hash of every active key, read from the store at each call (each request), so
        that a revoked key is refused at once. Through the pool's DB-API connection with the
        query compiled once: ~20 µs of CPU on SQLite, against ~300 µs through a SQLAlchemy
        Connection (checkout events, result objects), paid by every request."""
        if self._active_keys_sql is None:
            query = sa.select(api_keys_table.c.name, api_keys_table.c.key_hash).where(
                api_keys_table.c.revoked_at.is_(None))
            self._active_keys_sql = str(query.compile(dialect=self.engine.dialect))
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self._active_keys_sql)
                return dict(cursor.fetchall())
            finally:
                cursor.close()
        finally:
            connection.close()  # back to the pool (rolled back: no transaction left open)

    def api_keys(self) -> pd.DataFrame:
        """Names and dates of all keys (never the hashes)."""
        query = sa.select(api_keys_table.c.name, api_keys_table.c.created_at,
                          api_keys_table.c.revoked_at).order_by(api_keys_table.c.created_at)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return pd.DataFrame([dict(row) for row in rows],
                            columns=["name", "created_at", "revoked_at"])
