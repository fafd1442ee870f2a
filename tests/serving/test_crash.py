"""kill -9 during a stream of writes: every acknowledged write is stored exactly once.

A real `bentoml serve` receives feedback (each with its Idempotency-Key) and scores from client
threads; once enough writes of each kind are acknowledged, the service is killed with SIGKILL in
the middle of the stream. The service is started again; the client retries, with the same keys,
the feedback it got no answer for, and sends more. Then the store is read: an acknowledged write
(2xx received) stored 0 times is lost, more than once duplicated. The figures are printed and kept
in the test's folder (crash_figures.json)."""

import json
import signal
import threading
import uuid
from collections import Counter

import httpx
import pytest
import sqlalchemy as sa

from tests.serving.conftest import Server, server_env

FEEDBACK_THREADS, SCORE_THREADS = 3, 2
KILL_AFTER = {"feedback": 30, "scores": 6}  # acknowledged writes of each kind before the kill


class Stream:
    """Client threads sending writes until told to stop or until the server stops answering."""

    def __init__(self, url: str, api_key: str, offer: dict, run: str):
        self.url, self.offer, self.run = url, offer, run
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.lock = threading.Lock()
        self.serial = 0
        self.acked_feedback: dict[str, str] = {}  # offer id -> key
        self.unanswered_feedback: dict[str, tuple[str, dict]] = {}  # offer id -> (key, body)
        self.acked_scores: list[str] = []
        self.unanswered_scores: list[str] = []
        self.stop = threading.Event()

    def _next_id(self, kind: str) -> str:
        with self.lock:
            self.serial += 1
            return f"{self.serial:05d}{kind}{self.run}"

    def acknowledged(self, feedback: int, scores: int) -> bool:
        with self.lock:
            return len(self.acked_feedback) >= feedback and len(self.acked_scores) >= scores

    def feedback(self, client: httpx.Client) -> None:
        while not self.stop.is_set():
            offer_id, key = self._next_id("F"), str(uuid.uuid4())
            body = {"offer_id": offer_id, "action": "prioritised"}
            with self.lock:
                self.unanswered_feedback[offer_id] = (key, body)
            try:
                answer = client.post(f"{self.url}/feedback", json=body,
                                     headers={**self.headers, "Idempotency-Key": key})
            except httpx.HTTPError:
                return  # the server is gone: this one stays unanswered
            assert answer.status_code == 200, answer.text
            with self.lock:
                del self.unanswered_feedback[offer_id]
                self.acked_feedback[offer_id] = key

    def scores(self, client: httpx.Client) -> None:
        while not self.stop.is_set():
            offer_id = self._next_id("S")
            with self.lock:
                self.unanswered_scores.append(offer_id)
            try:
                answer = client.post(f"{self.url}/score", json={"offers": [{**self.offer, "id": offer_id}]},
                                     headers=self.headers)
            except httpx.HTTPError:
                return
            assert answer.status_code == 200, answer.text
            with self.lock:
                self.unanswered_scores.remove(offer_id)
                self.acked_scores.append(offer_id)

    def start(self) -> list[threading.Thread]:
        threads = []
        for target, count in ((self.feedback, FEEDBACK_THREADS), (self.scores, SCORE_THREADS)):
            for _ in range(count):
                client = httpx.Client(timeout=120)
                thread = threading.Thread(target=lambda t=target, c=client: t(c), daemon=True)
                thread.start()
                threads.append(thread)
        return threads


def kill_9(pid: int) -> None:
    """SIGKILL to `bentoml serve` and every process under it at once: its workers run in process
    groups of their own and would outlive a kill of the arbiter alone, still serving."""
    import psutil

    tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    assert len(tree) >= 2, "no worker under bentoml serve"
    for process in tree:
        process.send_signal(signal.SIGKILL)
    psutil.wait_procs(tree, timeout=60)


def stored_counts(url: str) -> tuple[Counter, Counter]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        feedback = Counter(r[0] for r in connection.execute(sa.text("SELECT offer_id FROM feedback")))
        scores = Counter(r[0] for r in connection.execute(sa.text("SELECT offer_id FROM scores")))
    engine.dispose()
    return feedback, scores


@pytest.mark.integration
@pytest.mark.slow
def test_kill_9_mid_stream_loses_and_duplicates_no_acknowledged_write(trained_store, sample_offers_raw, tmp_path):
    from serving.keys import hash_key, new_key
    from serving.store import PredictionStore

    store_url = f"sqlite:///{tmp_path / 'predictions.db'}"
    api_key = new_key()
    PredictionStore(store_url).add_api_key("crash-test", hash_key(api_key))
    server = Server(server_env(tmp_path, store_url, trained_store.env), tmp_path / "server.log").start()
    try:
        # 1. a stream of writes, killed with SIGKILL once KILL_AFTER are acknowledged
        stream = Stream(server.url, api_key, sample_offers_raw[0], run="A")
        threads = stream.start()
        while not stream.acknowledged(**KILL_AFTER):
            assert any(t.is_alive() for t in threads), server.log_text()[-3000:]
            threading.Event().wait(0.05)
        kill_9(server.process.pid)
        server.process.wait()
        server.process = None
        for thread in threads:
            thread.join(timeout=600)  # a bound, not a speed target: they end on their first refused request
            assert not thread.is_alive(), "the service still answers after kill -9"
        in_flight = len(stream.unanswered_feedback) + len(stream.unanswered_scores)
        acknowledged_before_kill = len(stream.acked_feedback) + len(stream.acked_scores)

        # 2. restart; the client retries unanswered feedback with the same keys, then writes more
        server.log.close()
        restarted_at = len(server.log_text())
        server.start()
        replayed = 0
        with httpx.Client(timeout=120) as client:
            for offer_id, (key, body) in list(stream.unanswered_feedback.items()):
                answer = client.post(f"{server.url}/feedback", json=body,
                                     headers={**stream.headers, "Idempotency-Key": key})
                assert answer.status_code == 200, answer.text
                replayed += answer.headers.get("idempotent-replayed") == "true"
                stream.acked_feedback[offer_id] = key
        retried = len(stream.unanswered_feedback)
        stream.unanswered_feedback.clear()
        after = Stream(server.url, api_key, sample_offers_raw[1], run="B")
        threads = after.start()
        while not after.acknowledged(feedback=10, scores=2):
            assert any(t.is_alive() for t in threads), server.log_text()[-3000:]
            threading.Event().wait(0.05)
        after.stop.set()
        for thread in threads:
            thread.join()
    finally:
        server.stop()  # a clean stop: whatever the service still holds is written now

    feedback, scores = stored_counts(store_url)
    acked_feedback = {**stream.acked_feedback, **after.acked_feedback}
    acked_scores = stream.acked_scores + after.acked_scores
    counts = [feedback[o] for o in acked_feedback] + [scores[o] for o in acked_scores]
    figures = {
        "acknowledged_before_kill": acknowledged_before_kill, "in_flight_at_kill": in_flight,
        "feedback_retried_after_restart": retried, "retries_answered_from_store": replayed,
        "writes_acknowledged": len(counts), "feedback_acknowledged": len(acked_feedback),
        "scores_acknowledged": len(acked_scores),
        "stored_once": sum(c == 1 for c in counts), "lost": sum(c == 0 for c in counts),
        "duplicated": sum(c > 1 for c in counts),
        "unanswered_scores_stored": sum(scores[o] for o in stream.unanswered_scores),
        "unanswered_scores": len(stream.unanswered_scores),
    }
    (tmp_path / "crash_figures.json").write_text(json.dumps(figures, indent=2))
    print("kill -9 figures:", json.dumps(figures))
    assert figures["lost"] == 0 and figures["duplicated"] == 0, figures
    assert figures["stored_once"] == figures["writes_acknowledged"] > sum(KILL_AFTER.values())
    # nothing stored beyond what was sent: unanswered scores stored at most once
    assert all(scores[o] <= 1 for o in stream.unanswered_scores)
    assert "Traceback" not in server.log_text()[restarted_at:]
