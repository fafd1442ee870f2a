"""A prediction store as it was before migrations (commit 913c827: `metadata.create_all`, no
`alembic_version`), frozen here and filled with data, for the migration tests."""

import math
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from features.spec import CATEGORICAL, FEATURE_NAMES

AUDIT = ("region", "employer_size_band", "sector", "contract_type", "accessible_th")
legacy = sa.MetaData()
sa.Table(
    "scores", legacy,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("offer_id", sa.String(64), nullable=False, index=True),
    sa.Column("scored_at", sa.DateTime, nullable=False, index=True),
    sa.Column("offer_created_at", sa.DateTime, nullable=True),
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("model_version", sa.String(32), nullable=False),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("risk", sa.String(8), nullable=False),
    sa.Column("features", sa.JSON, nullable=False),
    *[sa.Column(f"audit_{name}", sa.String(64), nullable=False) for name in AUDIT],
)
sa.Table(
    "feedback", legacy,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("offer_id", sa.String(64), nullable=False, index=True),
    sa.Column("recorded_at", sa.DateTime, nullable=False, index=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("reason_code", sa.String(32), nullable=True),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("model_version", sa.String(32), nullable=True),
    sa.Column("risk", sa.String(8), nullable=True),
)
sa.Table(
    "outcomes", legacy,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("offer_id", sa.String(64), nullable=False, index=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("outcome_date", sa.Date, nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
)
sa.Table(
    "api_keys", legacy,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("key_hash", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
)
T0 = datetime(2024, 3, 1, 12, 0)


def _features(i: int) -> dict:
    values = {name: (None if name in CATEGORICAL else float(i % 7)) for name in FEATURE_NAMES}
    values.update(rome_code="F1703" if i % 2 else "J1502", contract_type="CDI",
                  salary_yearly_low=None if i % 5 == 0 else 20000.0 + i)
    return values


def create_legacy_store(url: str, scores: int = 300, feedback: int = 60, outcomes: int = 25) -> None:
    """The old schema, with rows in every table (the same rows on every engine)."""
    engine = sa.create_engine(url)
    legacy.create_all(engine)
    t = legacy.tables
    with engine.begin() as connection:
        connection.execute(t["scores"].insert(), [{
            "offer_id": f"{100000 + i}A", "scored_at": T0 + timedelta(minutes=i),
            "offer_created_at": None if i % 9 == 0 else T0 - timedelta(days=i % 30),
            "model_name": "hardtofill", "model_version": str(1 + i % 3),
            "probability": (i % 100) / 100 + 0.001 * math.pi, "risk": ("low", "medium", "high")[i % 3],
            "features": _features(i), **{f"audit_{a}": f"{a}-{i % 4}" for a in AUDIT},
        } for i in range(scores)])
        connection.execute(t["feedback"].insert(), [{
            "offer_id": f"{100000 + i}A", "recorded_at": T0 + timedelta(hours=i),
            "action": ("prioritised", "disagreed")[i % 2], "reason_code": None if i % 2 == 0 else "other",
            "client": "agence-rennes", "model_version": "2", "risk": "high",
        } for i in range(feedback)])
        connection.execute(t["outcomes"].insert(), [{
            "offer_id": f"{100000 + i}A", "outcome": ("filled", "abandoned", "cancelled")[i % 3],
            "outcome_date": date(2024, 4, 1) + timedelta(days=i), "recorded_at": T0 + timedelta(days=40 + i),
        } for i in range(outcomes)])
        connection.execute(t["api_keys"].insert(), [
            {"name": "local", "key_hash": "a" * 64, "created_at": T0, "revoked_at": None},
            {"name": "old", "key_hash": "b" * 64, "created_at": T0, "revoked_at": T0 + timedelta(days=1)}])
    engine.dispose()


def dump(url: str, columns_of: dict[str, list[str]] | None = None) -> dict[str, list[tuple]]:
    """Every row of the four legacy tables (their legacy columns only), ordered by key."""
    engine = sa.create_engine(url)
    out = {}
    with engine.connect() as connection:
        for name, table in legacy.tables.items():
            columns = [table.c[c] for c in (columns_of or {}).get(name, table.c.keys())]
            key = table.c.id if "id" in table.c else table.c.name
            out[name] = [tuple(row) for row in connection.execute(sa.select(*columns).order_by(key))]
    engine.dispose()
    return out
