"""Alembic environment of the prediction store.

The service and the CLI call `serving.migrate.upgrade_store`, which hands over a connection already
in a locked transaction (config.attributes["connection"]). Run by hand (`alembic -c
serving/migrations/alembic.ini ...`), it opens HARDTOFILL_STORE_URL (or `-x url=...`) through the same
function, so the same lock applies.
"""

from alembic import context

from serving.store import metadata

config = context.config


def run(connection) -> None:
    # render_as_batch: SQLite alters a table by copying it, which autogenerate must write so.
    # transactional_ddl: true on SQLite too, as serving.migrate opens it with BEGIN IMMEDIATE.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      compare_type=True, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run against the store itself")

given = config.attributes.get("connection")
if given is not None:
    run(given)
else:
    from logging.config import fileConfig

    from hardtofill.settings import get_settings
    from serving.migrate import locked_connection

    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    url = context.get_x_argument(as_dictionary=True).get("url") or get_settings().store_url
    with locked_connection(url) as connection:
        run(connection)
