"""Alembic migrations of the prediction store, on a SQLite file and on a real PostgreSQL server:
a store made by `create_all` before migrations existed, with data in it, is upgraded with nothing
lost; the tables the code describes are the ones the revisions make."""

import itertools
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from serving.migrate import StoreSchemaError, alembic_config, current_revision, head_revision, upgrade_store
from serving.records import ScoreRecord
from serving.store import PredictionStore, metadata
from tests.postgres import new_database
from tests.serving.conftest import REPO
from tests.serving.legacy_store import AUDIT, create_legacy_store, dump

_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/predictions.db"
    return new_database(request.getfixturevalue("postgres_url"), f"migrate_{next(_databases)}")


def revision(url: str) -> str | None:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        found = current_revision(connection)
    engine.dispose()
    return found


def columns(url: str, table: str) -> set[str]:
    engine = sa.create_engine(url)
    found = {c["name"] for c in sa.inspect(engine).get_columns(table)}
    engine.dispose()
    return found


def test_a_store_made_before_migrations_is_upgraded_with_nothing_lost(url):
    create_legacy_store(url)
    before = dump(url)
    assert revision(url) is None and len(before["scores"]) == 300

    store = PredictionStore(url)
    assert revision(url) == head_revision() == "0003"
    assert dump(url) == before  # every row of every table, every column, unchanged
    frame = store.scores()
    assert len(frame) == 300 and frame["offer_id"].tolist() == [row[1] for row in before["scores"]]
    assert frame["salary_yearly_low"].isna().sum() == 60  # nulls in the JSON stay nulls
    assert len(store.feedback()) == 60 and len(store.outcomes()) == 25
    assert set(store.active_key_hashes()) == {"local"}

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        ids = dict(connection.execute(sa.text("SELECT id, score_id FROM scores")).all())
    engine.dispose()
    assert ids == {i: f"legacy-{i}" for i in ids}
    # the new constraint holds: a legacy score written again is not stored twice
    again = ScoreRecord(score_id="legacy-1", offer_id="X", model_name="m", model_version="1", probability=0.5,
                        risk="medium", features={}, audit={a: "x" for a in AUDIT})
    assert store.record_scores([again]) == 0 and len(store.scores()) == 300
    store.close()
    PredictionStore(url).close()  # opening an up-to-date store changes nothing
    assert dump(url) == before


def test_the_tables_the_code_describes_are_those_the_revisions_make(url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    PredictionStore(url).close()
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert differences == []


def test_repeated_score_ids_are_moved_aside_not_lost(url):
    """A store whose scores already carry a score_id column with repeats (a write replayed before
    the constraint existed): the first of each id stays, the later copies go to scores_duplicates."""
    create_legacy_store(url, scores=10)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE scores ADD COLUMN score_id VARCHAR(64)"))
        connection.execute(sa.text("UPDATE scores SET score_id = 's' || CAST(id % 4 AS VARCHAR) WHERE id <= 8"))
    engine.dispose()
    before = dump(url)

    PredictionStore(url).close()
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        kept = connection.execute(sa.text("SELECT id, score_id FROM scores ORDER BY id")).all()
        moved = connection.execute(sa.text("SELECT id, score_id FROM scores_duplicates ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in kept] == [(1, "s1"), (2, "s2"), (3, "s3"), (4, "s0"), (9, "legacy-9"),
                                        (10, "legacy-10")]
    assert [tuple(r) for r in moved] == [(5, "s1"), (6, "s2"), (7, "s3"), (8, "s0")]
    # every row still exists, whole, in one table or the other
    after = dump(url)["scores"]
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        legacy_columns = [c for c in sa.Table("scores_duplicates", sa.MetaData(), autoload_with=connection).c
                          if c.name != "score_id"]
        aside = [tuple(r) for r in connection.execute(sa.select(*legacy_columns).order_by(legacy_columns[0]))]
    engine.dispose()
    assert sorted(after + aside) == sorted(before["scores"])


def test_a_failed_upgrade_leaves_the_store_as_it_was(url):
    """Revisions run in one transaction: when the last one fails, the earlier ones are undone too."""
    create_legacy_store(url, scores=20)
    engine = sa.create_engine(url)
    with engine.begin() as connection:  # in the way of revision 0003
        connection.execute(sa.text("CREATE TABLE feedback_requests (x INTEGER)"))
    engine.dispose()
    before = dump(url)
    with pytest.raises(sa.exc.DatabaseError):
        PredictionStore(url)
    assert revision(url) is None and "score_id" not in columns(url, "scores")
    assert dump(url) == before


def test_a_store_newer_than_the_code_is_refused(url, tmp_path):
    PredictionStore(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreSchemaError, match="9999"):
        PredictionStore(url)
    listed = subprocess.run([sys.executable, "-m", "hardtofill", "keys", "list"], capture_output=True, text=True,
                            cwd=REPO, env={**__import__("os").environ, "HARDTOFILL_STORE_URL": url})
    assert listed.returncode == 1 and "9999" in listed.stderr and "Traceback" not in listed.stderr


def test_processes_starting_together_migrate_once(url):
    create_legacy_store(url, scores=50)
    before = dump(url)
    code = "import sys; from serving.store import PredictionStore; PredictionStore(sys.argv[1]).close()"
    runs = [subprocess.Popen([sys.executable, "-c", code, url], cwd=REPO, stderr=subprocess.PIPE, text=True)
            for _ in range(3)]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read()
    assert revision(url) == head_revision() and dump(url) == before


def test_downgrade_then_upgrade_keeps_the_scores(url):
    from alembic import command

    create_legacy_store(url, scores=30)
    PredictionStore(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    engine.dispose()
    assert revision(url) == "0001" and "score_id" not in columns(url, "scores")
    assert len(dump(url)["scores"]) == 30
    assert upgrade_store(url) == ("0001", head_revision())
    assert len(PredictionStore(url).scores()) == 30


def test_threads_of_one_process_opening_a_new_store(tmp_path):
    url = f"sqlite:///{tmp_path}/threads.db"
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: PredictionStore(url), range(4)))
    assert revision(url) == head_revision()
    assert all(s.scores().empty for s in stores)
    for store in stores:
        store.close()
