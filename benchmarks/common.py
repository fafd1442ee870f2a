"""What every benchmark shares: where results go, and how a stage is measured in isolation."""

import json
import multiprocessing
import platform
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

from hardtofill.resources import peak_rss_mb

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCRATCH_DIR = Path(__file__).resolve().parent / ".scratch"  # git-ignored


def machine() -> dict:
    import os

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def save_result(name: str, result: dict) -> Path:
    """Write benchmarks/results/<name>.json with the date and the machine it ran on."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {"benchmark": name, "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
               "machine": machine(), **result}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _child(function, args, queue) -> None:
    start = time.perf_counter()
    extra = function(*args) or {}
    seconds = time.perf_counter() - start
    used = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = peak_rss_mb()  # this stage's own, not the bench's inherited one
    queue.put({"seconds": round(seconds, 2), "cpu_seconds": round(used.ru_utime + used.ru_stime, 1),
               "peak_rss_mb": round(peak_mb, 1), **extra})


def _tree_rss_mb(process) -> float:
    """Resident memory of a process and all its descendants (a subprocess it starts is not in
    its own high-water mark)."""
    import psutil

    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:  # ended between the listing and the reading
            pass
    return total / 2**20


def measure(function, *args, log=None) -> dict:
    """Run `function(*args)` in a fresh process: wall time, CPU time (user + system: what the
    stage costs whatever the machine's load) and peak resident memory of that stage alone (a
    fresh process so that earlier stages do not inflate the peak): the process's own high-water
    mark, and the whole process tree's, sampled every 0.2 s. `log(text)` gets a line every 30 s."""
    import queue as queues

    import psutil

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(function, args, queue))
    process.start()
    watched, tree_peak, started, said = psutil.Process(process.pid), 0.0, time.perf_counter(), 0.0
    result = None
    while result is None:
        try:
            result = queue.get(timeout=0.2)
        except queues.Empty:
            if not process.is_alive() and queue.empty():
                break
            try:
                now = _tree_rss_mb(watched)
            except psutil.Error:
                continue
            tree_peak = max(tree_peak, now)
            elapsed = time.perf_counter() - started
            if log is not None and elapsed - said >= 30:
                said = elapsed
                log(f"{function.__name__}: {elapsed:.0f} s, tree {now:.0f} MB now, peak {tree_peak:.0f} MB")
    process.join()
    if result is None or process.exitcode:
        raise RuntimeError(f"{function.__name__} failed in its benchmark process (exit {process.exitcode})")
    result["tree_peak_rss_mb"] = round(max(tree_peak, result["peak_rss_mb"]), 1)
    return result

