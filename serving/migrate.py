"""The prediction store's schema, migrated with Alembic (revisions in serving/migrations/versions).

`upgrade_store(url)` brings a store to the latest revision; `PredictionStore` calls it when it
opens, so the service, its workers and every CLI command start on an up-to-date schema. A store made
by `create_all` before migrations existed (no `alembic_version`) is adopted by the baseline, which
only creates missing tables. Upgrades hold a lock (PostgreSQL: an advisory transaction lock; SQLite:
`BEGIN IMMEDIATE`) and run in one transaction, so that two processes starting together migrate once
and a failed upgrade leaves the store as it was.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"
LOCK_KEY = 0x68746673  # any constant: the advisory lock of this application's migrations ("htfs")
# Alembic's `context` is global to the process: two threads must not run it at once.
_in_process = threading.Lock()


class StoreSchemaError(RuntimeError):
    """The store's schema cannot be brought to this code's revision (e.g. it is newer)."""


def alembic_config(connection: sa.Connection | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache
def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def current_revision(connection: sa.Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _in_memory(url: sa.URL) -> bool:
    return url.get_backend_name() == "sqlite" and (not url.database or url.database == ":memory:")


@contextmanager
def locked_connection(url: str) -> Iterator[sa.Connection]:
    """A connection in a transaction that holds the migration lock, committed on success."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        from serving.store import create_store_engine

        engine = create_store_engine(url)

        @sa.event.listens_for(engine, "connect")
        def _manual(dbapi_connection, _record):
            # pysqlite opens transactions only before DML; BEGIN IMMEDIATE here makes the DDL
            # transactional too and takes SQLite's write lock (other writers wait, up to 30 s).
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection, connection.begin():
            if parsed.get_backend_name() == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            yield connection
    finally:
        engine.dispose()


def _check_known(revision: str | None) -> None:
    if revision is not None and revision not in known_revisions():
        raise StoreSchemaError(
            f"the prediction store is at schema revision {revision!r}, which this code does not know "
            f"(its latest is {head_revision()!r}): run the newer code, or downgrade the store with it")


def upgrade_store(url: str, engine: sa.Engine | None = None) -> tuple[str | None, str]:
    """Bring the store at `url` to the latest revision; returns (revision before, revision after).

    `engine` (the store's own) is used for the cheap check that nothing is to do, and for an
    in-memory SQLite database, which only exists on that engine."""
    from alembic import command

    parsed = make_url(url)
    head = head_revision()
    if engine is not None:
        with engine.connect() as connection:
            before = current_revision(connection)
        if before == head:
            return before, head
        _check_known(before)
        if _in_memory(parsed):
            with _in_process, engine.begin() as connection:
                command.upgrade(alembic_config(connection), "head")
            return before, head
    with _in_process, locked_connection(url) as connection:
        before = current_revision(connection)  # again, under the lock: another process may have done it
        _check_known(before)
        if before != head:
            command.upgrade(alembic_config(connection), "head")
    return before, head
