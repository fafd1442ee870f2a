"""Baseline: the store as `metadata.create_all` made it before migrations existed.

A store created that way has these tables but no `alembic_version`: each table is created only
when missing, so such a store is adopted as it is (nothing touched, nothing lost) and a new store
gets the same schema. Frozen here on purpose: never import the application's tables in a revision.

Revision ID: 0001
Revises:
Create Date: 2026-11-20
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The audit group attributes at the time of the baseline (features.spec.AUDIT_COLUMNS then).
AUDIT = ("region", "employer_size_band", "sector", "contract_type", "accessible_th")


def _tables() -> dict[str, tuple[list[sa.Column], list[str]]]:
    """Each table: its columns and the columns create_all indexed (ix_<table>_<column>)."""
    return {
        "scores": ([
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("offer_id", sa.String(64), nullable=False),
            sa.Column("scored_at", sa.DateTime, nullable=False),
            sa.Column("offer_created_at", sa.DateTime, nullable=True),
            sa.Column("model_name", sa.String(128), nullable=False),
            sa.Column("model_version", sa.String(32), nullable=False),
            sa.Column("probability", sa.Float, nullable=False),
            sa.Column("risk", sa.String(8), nullable=False),
            sa.Column("features", sa.JSON, nullable=False),
            *[sa.Column(f"audit_{name}", sa.String(64), nullable=False) for name in AUDIT],
        ], ["offer_id", "scored_at"]),
        "feedback": ([
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("offer_id", sa.String(64), nullable=False),
            sa.Column("recorded_at", sa.DateTime, nullable=False),
            sa.Column("action", sa.String(32), nullable=False),
            sa.Column("reason_code", sa.String(32), nullable=True),
            sa.Column("client", sa.String(64), nullable=False),
            sa.Column("model_version", sa.String(32), nullable=True),
            sa.Column("risk", sa.String(8), nullable=True),
        ], ["offer_id", "recorded_at"]),
        "outcomes": ([
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("offer_id", sa.String(64), nullable=False),
            sa.Column("outcome", sa.String(16), nullable=False),
            sa.Column("outcome_date", sa.Date, nullable=False),
            sa.Column("recorded_at", sa.DateTime, nullable=False),
        ], ["offer_id"]),
        "api_keys": ([
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("key_hash", sa.String(128), nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("revoked_at", sa.DateTime, nullable=True),
        ], []),
    }


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, (columns, indexed) in _tables().items():
        if name in existing:
            continue
        op.create_table(name, *columns)
        for column in indexed:
            op.create_index(f"ix_{name}_{column}", name, [column])


def downgrade() -> None:
    raise NotImplementedError("the baseline is never undone: it would drop every stored score, feedback "
                              "and outcome")
