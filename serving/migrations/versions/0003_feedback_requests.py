"""feedback_requests: the Idempotency-Key of each /feedback request, per client, and what it stored.

A retried request (same client, same key) finds its row and gets the same answer; nothing is
stored twice. `fingerprint` is the SHA-256 of the request body, to refuse a key reused for another
body. No personal data: the key is a UUID, the client an API key's name.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-20
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback_requests",
        sa.Column("client", sa.String(64), primary_key=True),
        sa.Column("idempotency_key", sa.String(36), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("offer_id", sa.String(64), nullable=False),
        sa.Column("feedback_id", sa.Integer, nullable=True),
        sa.Column("outcome_id", sa.Integer, nullable=True),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feedback_requests")
