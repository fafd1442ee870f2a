"""scores.score_id: one id per score, unique, so that writing a score twice stores it once.

Rows stored before score ids existed get `legacy-<row id>`. Should a store already hold the
column with repeated ids (a write replayed before the constraint existed), the first row of each id
stays and the later copies are moved, whole, to `scores_duplicates` (created only then): nothing is
deleted without a copy, and monitoring counts each score once.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-20
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_scores_score_id"
DUPLICATES = "scores_duplicates"
log = logging.getLogger("alembic.runtime.migration")


def _move_duplicates(bind) -> int:
    scores = sa.Table("scores", sa.MetaData(), autoload_with=bind)
    first = sa.select(sa.func.min(scores.c.id)).group_by(scores.c.score_id)
    later = sa.select(scores.c.id).where(scores.c.id.not_in(first))
    moved = bind.execute(sa.select(sa.func.count()).select_from(later.subquery())).scalar_one()
    if moved:
        copy = sa.Table(DUPLICATES, sa.MetaData(),
                        *[sa.Column(c.name, c.type, primary_key=c.name == "id", autoincrement=False)
                          for c in scores.columns])
        copy.create(bind, checkfirst=True)
        names = [c.name for c in scores.columns]
        bind.execute(copy.insert().from_select(names, sa.select(*scores.columns).where(scores.c.id.in_(later))))
        bind.execute(scores.delete().where(scores.c.id.in_(sa.select(copy.c.id))))
        log.warning("scores: %d rows repeating an earlier score_id moved to %s", moved, DUPLICATES)
    return moved


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if "score_id" not in {c["name"] for c in inspector.get_columns("scores")}:
        op.add_column("scores", sa.Column("score_id", sa.String(64), nullable=True))
    scores = sa.table("scores", sa.column("id", sa.Integer), sa.column("score_id", sa.String))
    op.execute(scores.update().where(scores.c.score_id.is_(None))
               .values(score_id=sa.literal("legacy-") + sa.cast(scores.c.id, sa.String)))
    _move_duplicates(bind)
    with op.batch_alter_table("scores") as batch:
        batch.alter_column("score_id", existing_type=sa.String(64), type_=sa.String(64), nullable=False)
    unique = [i for i in sa.inspect(bind).get_indexes("scores") if i["unique"] and i["column_names"] == ["score_id"]]
    if not unique:
        op.create_index(INDEX, "scores", ["score_id"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="scores")
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("score_id")
