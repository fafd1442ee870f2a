"""National scale on one machine: `hardtofill ingest` and `hardtofill train` from the Parquet
history, time, CPU time and peak memory for 100k, 300k and 1M offers (5M with --full), each stage
in a fresh process, and a plot of them against the number of offers (benchmarks/results/scale.png).

Issue 13 asks 1M offers trained with at most 2 GB peak memory, time and memory near-linear.
`python -m benchmarks.scale_bench [--quick] [--full] [--train-only] [--sizes=N,N]` (quick: 100k
only; full: adds 5M, about an hour on 2 idle cores and 5 GB of scratch disk; train-only: the
Parquet histories already ingested are reused, ingest not measured; sizes: those only, saved as
results/scale_<sizes>.json; `--combine --sizes=N,N` merges such one-size results into scale.json
and scale.png). The machine's load average is
recorded at the start and the end of each stage: on a shared machine, wall times grow with it,
CPU time and memory do not. Progress lines go to stderr every 30 s.
"""

import os
import shutil
import sys
from datetime import datetime
from pathlib import Path

from benchmarks.common import RESULTS_DIR, SCRATCH_DIR, measure, save_result

SIZES = (100_000, 300_000, 1_000_000)
FULL_SIZES = (*SIZES, 5_000_000)


def _lines(offers: int) -> Path:
    path = SCRATCH_DIR / f"bench_history_{offers}.jsonl.gz"  # shared with training_bench (same config)
    if not path.is_file():
        from features.generator.simulate import GeneratorConfig
        from features.generator.write import write_history

        write_history(GeneratorConfig(offers=offers, months=24, seed=42), path, progress=False)
    return path


def _ingest(source: str, out: str) -> dict:
    from features.columnar import ingest

    report = ingest(Path(source), Path(out), replace=True, progress=False)
    return {"kept": report.kept, "rejected": report.rejected}


def _train(path: str, store: str) -> dict:
    os.environ["HARDTOFILL_TRACKING_URI"] = f"sqlite:///{store}/mlflow.db"
    os.environ["HARDTOFILL_ARTIFACT_ROOT"] = f"{store}/artifacts"
    from hardtofill.telemetry import switch_off_telemetry

    switch_off_telemetry()
    from training.pipeline import train

    outcome = train(path, progress=False)
    return {"test_roc_auc": round(outcome.metrics["test_roc_auc"], 4), "trees": int(outcome.metrics["trees"]),
            "promoted": outcome.promoted, "steps_seconds": outcome.timings,
            "steps_cpu_seconds": outcome.cpu_seconds, "steps_peak_rss_mb": outcome.peaks_mb}


def linear_fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares a + b * n through (n, value) points."""
    import numpy as np

    n, value = np.array(points, dtype=float).T
    b, a = np.polyfit(n, value, 1) if len(n) > 1 else (value[0] / n[0], 0.0)
    return float(a), float(b)


def plot(runs: dict, path: Path) -> None:
    """CPU time and peak memory (the whole process tree's) of each stage against the offers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for stage, marker in (("ingest", "s"), ("train", "o")):
        sizes = sorted(int(n) for n in runs if stage in runs[n])
        if not sizes:
            continue
        left.plot(sizes, [runs[str(n)][stage]["cpu_seconds"] for n in sizes], marker=marker, label=stage)
        right.plot(sizes, [runs[str(n)][stage]["tree_peak_rss_mb"] for n in sizes], marker=marker, label=stage)
    right.axhline(2048, color="red", linestyle="--", linewidth=1, label="2 GB target (1M offers)")
    for axis, title in ((left, "CPU time, user + system (s)"), (right, "peak resident memory (MB)")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("offers in the history")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle("hardtofill on one machine: Parquet ingest and training (CPU time: load-independent)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _log(text: str) -> None:
    print(f"{datetime.now():%H:%M:%S} load {os.getloadavg()[0]:.1f} {text}", file=sys.stderr, flush=True)


def _measured(function, *args) -> dict:
    load_before = round(os.getloadavg()[0], 2)
    result = measure(function, *args, log=_log)
    return {**result, "load_average_1min": [load_before, round(os.getloadavg()[0], 2)]}


def main(quick: bool = False, full: bool = False, train_only: bool = False, sizes: tuple[int, ...] = ()) -> dict:
    SCRATCH_DIR.mkdir(parents=True, exist_ok=True)
    name = f"scale_{'_'.join(str(n) for n in sizes)}" if sizes else "scale_quick" if quick else "scale"
    sizes = sizes or (SIZES[:1] if quick else FULL_SIZES if full else SIZES)
    runs = {}
    for offers in sizes:
        lines = _lines(offers)
        parquet = SCRATCH_DIR / f"bench_history_{offers}.parquet"
        store = SCRATCH_DIR / f"scale_store_{offers}"
        shutil.rmtree(store, ignore_errors=True)
        run = runs[str(offers)] = {}
        if not (train_only and parquet.is_dir()):
            _log(f"{offers:,} offers: ingest")
            run["ingest"] = _measured(_ingest, str(lines), str(parquet))
        _log(f"{offers:,} offers: train")
        run["train"] = _measured(_train, str(parquet), str(store))
        shutil.rmtree(store, ignore_errors=True)
        _log(f"{offers:,} offers: " + "; ".join(
            f"{stage} {m['seconds']:.0f} s ({m['cpu_seconds']:.0f} s CPU), peak {m['tree_peak_rss_mb']:.0f} MB"
            for stage, m in run.items()))
    return _save(name, runs)


def _save(name: str, runs: dict) -> dict:
    result = {"runs": runs, "load_average_1min_at_end": round(os.getloadavg()[0], 2)}
    trained = {k: v for k, v in runs.items() if "train" in v}
    if len(trained) > 1:  # a straight line through the measures, for the sizes not run
        result["linear_extrapolation"] = {
            f"train_{measured}": {str(n): round(a + b * n, 1) for n in (5_000_000, 10_000_000)}
            for measured in ("cpu_seconds", "tree_peak_rss_mb")
            for a, b in [linear_fit([(int(k), v["train"][measured]) for k, v in trained.items()])]}
    save_result(name, result)
    plot(runs, RESULTS_DIR / f"{name}.png")
    return result


def combine(sizes: tuple[int, ...]) -> dict:
    """scale.json and scale.png from runs of one size each (results/scale_<offers>.json), for
    sizes measured one at a time (e.g. on a shared machine, each when its history was ready)."""
    import json

    runs = {}
    for offers in sizes:
        measured = json.loads((RESULTS_DIR / f"scale_{offers}.json").read_text(encoding="utf-8"))
        runs[str(offers)] = {**measured["runs"][str(offers)], "ran_at": measured["ran_at"]}
    return _save("scale", runs)


if __name__ == "__main__":
    chosen = [a.removeprefix("--sizes=") for a in sys.argv if a.startswith("--sizes=")]
    if "--combine" in sys.argv:
        combine(tuple(int(n) for n in chosen[0].split(",")))
        sys.exit(0)
    main(quick="--quick" in sys.argv, full="--full" in sys.argv, train_only="--train-only" in sys.argv,
         sizes=tuple(int(n) for n in chosen[0].split(",")) if chosen else ())
