"""Training time and peak memory of `hardtofill train` for 50k, 200k and 1M offers (24 months).

Each size trains in a fresh process into a throwaway MLflow store (benchmarks/.scratch), with the
project's params.yaml; the time includes reading the history and everything the command does
(features, fit, calibration, baselines, fairness, SHAP plots, MLflow logging, registry).
Issue 3 asks `make train` on the default 300k history in under 3 minutes on 2 cores.
`python -m benchmarks.training_bench [--quick]` (quick: 50k only).
"""

import os
import shutil
import sys

from benchmarks.common import SCRATCH_DIR, measure, save_result

SIZES = (50_000, 200_000, 1_000_000)


def _history(offers: int):
    path = SCRATCH_DIR / f"bench_history_{offers}.jsonl.gz"  # shared with features_bench (same config)
    if not path.is_file():
        from features.generator.simulate import GeneratorConfig
        from features.generator.write import write_history

        write_history(GeneratorConfig(offers=offers, months=24, seed=42), path, progress=False)
    return path


def _train(path: str, store: str) -> dict:
    os.environ["HARDTOFILL_TRACKING_URI"] = f"sqlite:///{store}/mlflow.db"
    os.environ["HARDTOFILL_ARTIFACT_ROOT"] = f"{store}/artifacts"
    from hardtofill.telemetry import switch_off_telemetry

    switch_off_telemetry()
    from training.pipeline import train

    outcome = train(path, progress=False)
    return {"test_roc_auc": round(outcome.metrics["test_roc_auc"], 4),
            "oracle_test_roc_auc": round(outcome.metrics["oracle_test_roc_auc"], 4),
            "trees": int(outcome.metrics["trees"]), "promoted": outcome.promoted, "steps_seconds": outcome.timings}


def main(quick: bool = False) -> dict:
    SCRATCH_DIR.mkdir(parents=True, exist_ok=True)
    runs = {}
    for offers in SIZES[:1] if quick else SIZES:
        path = _history(offers)
        store = SCRATCH_DIR / f"training_store_{offers}"
        shutil.rmtree(store, ignore_errors=True)
        runs[str(offers)] = measure(_train, str(path), str(store))
        shutil.rmtree(store, ignore_errors=True)
        print(f"{offers:>9,} offers: {runs[str(offers)]['seconds']:.1f} s, "
              f"peak {runs[str(offers)]['peak_rss_mb']:.0f} MB", file=sys.stderr)
    result = {"runs": runs, "load_average_1min_at_end": round(os.getloadavg()[0], 2)}
    save_result("training_quick" if quick else "training", result)
    return result


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
