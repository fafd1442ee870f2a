"""What every benchmark shares: where results go, and how a stage is measured in isolation."""

import json
import multiprocessing
import platform
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

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
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
    queue.put({"seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb, 1), **extra})


def measure(function, *args) -> dict:
    """Run `function(*args)` in a fresh process: wall time and peak resident memory of that
    stage alone (a fresh process so that earlier stages do not inflate the peak)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(function, args, queue))
    process.start()
    result = queue.get()
    process.join()
    if process.exitcode:
        raise RuntimeError(f"{function.__name__} failed in its benchmark process (exit {process.exitcode})")
    return result
