"""Scores stored off the answer's critical path, without losing an acknowledged one.

Before the service answers, each score is appended to a local journal (one JSON line per score in
an append-only segment file); a writer thread then stores queued scores in batches and deletes a
segment once all its scores are stored. At start-up, segments left by a process that died (kill
-9, a crash) are replayed into the store, idempotently by score_id, so that every acknowledged
score is stored exactly once. A full queue makes requests wait instead of dropping scores; on
shutdown the queue is flushed. No fsync: written lines survive a process crash in the operating
system's cache (a power cut could lose the last ones; the store itself is the durable copy).
Each worker process has its own segments, locked (flock) while it lives, so workers starting
together never replay each other's live journal.
"""

import fcntl
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import orjson
from sqlalchemy.engine import make_url

from serving.records import ScoreRecord

log = logging.getLogger("bentoml.hardtofill")
PATTERN = "scores-*.jsonl"


def journal_dir(store_url: str, configured: Path | None = None) -> Path:
    """The configured folder, else a `journal` folder beside a SQLite store, else data/journal."""
    if configured is not None:
        return Path(configured)
    url = make_url(store_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).expanduser().resolve().parent / "journal"
    return Path("data/journal").resolve()


@dataclass(eq=False)
class _Segment:
    path: Path
    fd: int
    pending: int = 0  # scores appended, not yet stored
    size: int = 0  # bytes appended (counted here: no fstat per request)
    sealed: bool = False


def _line(record: ScoreRecord) -> bytes:
    # The record's fields as they are (a model's __dict__ holds exactly its fields, no extra).
    return orjson.dumps(record.__dict__) + b"\n"


class ScoreWriter:
    def __init__(self, store, directory: Path, batch_size: int = 1000, max_pending: int = 20_000,
                 linger: float = 0.1, rotate_bytes: int = 1 << 20, segment_bytes: int = 64 << 20):
        self.store, self.directory = store, Path(directory)
        self.batch_size, self.linger = batch_size, linger
        # A segment whose scores are all stored is replaced once it holds rotate_bytes; a segment
        # is closed at segment_bytes even if some of its scores are still queued.
        self.rotate_bytes, self.segment_bytes = rotate_bytes, segment_bytes
        self.max_pending = max_pending
        self._queue: deque[tuple[_Segment, list[ScoreRecord]]] = deque()
        self._queued = 0  # scores queued, not yet taken by the writer
        self._unstored = 0  # scores submitted, not yet stored
        self._space = threading.Condition()
        self._lock = threading.Lock()  # the journal's segments
        self._names = count()
        self._segments: list[_Segment] = []
        self._current: _Segment | None = None
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self.stored = 0

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> "ScoreWriter":
        self.directory.mkdir(parents=True, exist_ok=True)
        replayed = self.replay()
        if replayed:
            log.info("replayed %d journaled scores into the store", replayed)
        with self._lock:
            self._open_segment()
        self._thread = threading.Thread(target=self._run, name="score-writer", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 60.0) -> None:
        """Store everything queued, then stop; what could not be stored stays journaled."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            for segment in list(self._segments):
                self._seal(segment)

    # --- the request side ---------------------------------------------------------------------
    def submit(self, records: list[ScoreRecord]) -> None:
        """Journal the scores (before the answer) and queue them for the store; waits while the
        queue is full (a slower answer, never a dropped score)."""
        if not records:
            return
        data = b"".join(_line(record) for record in records)
        with self._lock:
            if self._current is None:
                raise RuntimeError("the score writer is not started")
            segment = self._current
            written = os.write(segment.fd, data)
            while written < len(data):  # a short write (a full disk, a signal): append the rest
                written += os.write(segment.fd, data[written:])
            segment.pending += len(records)
            segment.size += len(data)
            if segment.size >= self.segment_bytes:
                self._seal(segment)
                self._open_segment()
        with self._space:
            while self._queued >= self.max_pending:
                self._space.wait()
            self._queue.append((segment, records))
            self._queued += len(records)
            self._unstored += len(records)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every score submitted so far is stored (True), or `timeout` seconds."""
        with self._space:
            return self._space.wait_for(lambda: self._unstored == 0, timeout)

    # --- the writer thread --------------------------------------------------------------------
    def _take(self) -> list[tuple[_Segment, list[ScoreRecord]]]:
        taken, count_taken = [], 0
        with self._space:
            while self._queue and count_taken < self.batch_size:
                item = self._queue.popleft()
                taken.append(item)
                count_taken += len(item[1])
            self._queued -= count_taken
            self._space.notify_all()
        return taken

    def _run(self) -> None:
        while True:
            # Wakes up on its own rather than at every submit: requests never hand it the GIL, and
            # one transaction stores many scores.
            if self._queued < self.batch_size:
                closing = self._closing.is_set()
                if closing and not self._queued:
                    return
                if not closing:
                    time.sleep(self.linger)
            taken = self._take()
            if not taken:
                continue
            self._store([record for _, records in taken for record in records])
            with self._space:
                self._unstored -= sum(len(records) for _, records in taken)
                self._space.notify_all()
            with self._lock:
                for segment, records in taken:
                    segment.pending -= len(records)
                    self.stored += len(records)
                current = self._current
                if current is not None and current.pending == 0 and not self._queued \
                        and current.size >= self.rotate_bytes:
                    self._seal(current)  # all stored: start a fresh segment, delete this one
                    self._open_segment()
                for segment in list(self._segments):
                    if segment.sealed and segment.pending == 0:
                        self._delete(segment)

    def _store(self, records: list[ScoreRecord]) -> None:
        delay = 0.5
        while True:
            try:
                self.store.record_scores(records)
                return
            except Exception as problem:  # the store is down: keep the scores, retry
                log.error("storing %d scores failed (%s: %s); retrying in %.1f s", len(records),
                          type(problem).__name__, str(problem).splitlines()[0] if str(problem) else "", delay)
                if self._closing.is_set() and delay > 8:
                    raise SystemExit from None  # journaled: replayed at the next start
                time.sleep(delay)
                delay = min(delay * 2, 30.0)

    # --- segments (under the lock) ------------------------------------------------------------
    def _open_segment(self) -> None:
        path = self.directory / f"scores-{os.getpid()}-{time.time_ns()}-{next(self._names)}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # ours while we live: never replayed by another worker
        self._current = _Segment(path, fd)
        self._segments.append(self._current)

    def _seal(self, segment: _Segment) -> None:
        segment.sealed = True
        if segment is self._current:
            self._current = None
        if segment.pending == 0:
            self._delete(segment)

    def _delete(self, segment: _Segment) -> None:
        segment.path.unlink(missing_ok=True)
        os.close(segment.fd)
        self._segments.remove(segment)

    # --- start-up -----------------------------------------------------------------------------
    def replay(self) -> int:
        """Store the scores of journals no live process holds (idempotent by score_id)."""
        replayed = 0
        for path in sorted(self.directory.glob(PATTERN)):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue  # another worker replayed it meanwhile
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live worker's journal
                if not path.exists() or os.fstat(fd).st_size == 0:
                    continue  # replayed meanwhile, or a live worker's new segment not yet locked
                with open(fd, "rb", closefd=False) as stream:
                    records = []
                    for line in stream:
                        try:
                            records.append(ScoreRecord.model_validate(orjson.loads(line)))
                        except ValueError:
                            log.warning("journal %s: skipped a line cut short by the crash", path.name)
                for start in range(0, len(records), self.batch_size):
                    self.store.record_scores(records[start:start + self.batch_size])
                replayed += len(records)
                path.unlink()
            finally:
                os.close(fd)
        return replayed
