"""The score writer: journaled before the answer, stored by a thread, replayed once after a crash."""

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

from serving.records import ScoreRecord
from serving.score_writer import ScoreWriter, journal_dir
from serving.store import PredictionStore


def _records(n: int, offset: int = 0) -> list[ScoreRecord]:
    return [ScoreRecord(offer_id=f"OFFER{offset + i}", offer_created_at=datetime(2024, 1, 2, tzinfo=UTC),
                        model_name="hardtofill", model_version="1", probability=0.5, risk="medium",
                        features={"rome_code": "K2204", "month": 1.0, "salary_vs_market": None},
                        audit={"region": "Bretagne"}) for i in range(n)]


def test_scores_are_stored_once_and_the_journal_emptied_on_close(tmp_path):
    store = PredictionStore(f"sqlite:///{tmp_path / 'scores.db'}")
    writer = ScoreWriter(store, tmp_path / "journal", batch_size=7, max_pending=5).start()
    records = _records(40)
    for start in range(0, 40, 3):  # a small queue: submitting waits for the writer, nothing dropped
        writer.submit(records[start:start + 3])
    writer.close()
    stored = store.scores()
    assert sorted(stored["offer_id"]) == sorted(r.offer_id for r in records)
    assert stored["salary_vs_market"].isna().all() and (stored["rome_code"] == "K2204").all()
    assert list((tmp_path / "journal").glob("scores-*.jsonl")) == []


def test_replaying_a_journal_twice_stores_each_score_once(tmp_path):
    store = PredictionStore(f"sqlite:///{tmp_path / 'scores.db'}")
    directory = tmp_path / "journal"
    directory.mkdir()
    records = _records(25)
    lines = b"".join(r.model_dump_json().encode() + b"\n" for r in records)
    (directory / "scores-1-1-0.jsonl").write_bytes(lines + b'{"score_id": "cut sh')  # crash mid-line
    store.record_scores(records[:10])  # some were stored before the crash
    writer = ScoreWriter(store, directory)
    assert writer.replay() == 25
    assert writer.replay() == 0
    assert len(store.scores()) == 25
    store.record_scores(records)  # and again: idempotent by score_id
    assert len(store.scores()) == 25


def test_after_kill_9_every_submitted_score_is_stored_exactly_once(tmp_path):
    """A process submits scores with a store that never answers in time, is killed with SIGKILL;
    the next writer's start-up replays its journal."""
    url = f"sqlite:///{tmp_path / 'scores.db'}"
    PredictionStore(url).close()
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(os.getcwd())!r})
        from tests.serving.test_score_writer import _records
        from serving.score_writer import ScoreWriter

        class StuckStore:
            def record_scores(self, records):
                time.sleep(3600)

        writer = ScoreWriter(StuckStore(), {str(tmp_path / 'journal')!r}).start()
        for start in range(0, 300, 30):
            writer.submit(_records(30, start))
        print("acknowledged", flush=True)
        time.sleep(3600)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=os.getcwd())
    assert child.stdout.readline().strip() == b"acknowledged"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    store = PredictionStore(url)
    writer = ScoreWriter(store, tmp_path / "journal").start()
    writer.close()
    stored = store.scores()
    assert len(stored) == 300 and stored["offer_id"].is_unique


def test_a_live_writers_journal_is_not_replayed_by_another(tmp_path):
    store = PredictionStore(f"sqlite:///{tmp_path / 'scores.db'}")

    class SlowStore:
        def record_scores(self, records):
            import time

            time.sleep(0.5)
            store.record_scores(records)

    first = ScoreWriter(SlowStore(), tmp_path / "journal").start()
    first.submit(_records(5))
    second = ScoreWriter(store, tmp_path / "journal")
    assert second.replay() == 0  # the first one's segment is locked: it stores its own scores
    first.close()
    assert len(store.scores()) == 5


def test_journal_beside_a_sqlite_store(tmp_path):
    assert journal_dir(f"sqlite:///{tmp_path / 'x' / 'p.db'}") == (tmp_path / "x" / "journal").resolve()
    assert journal_dir("postgresql://u@h/db", tmp_path) == tmp_path
