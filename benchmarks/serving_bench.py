"""Serving over HTTP, against a real `bentoml serve` on 127.0.0.1: latency of one offer (p50, p99),
throughput of batches of 1,000 offers, and single-offer throughput with concurrent clients.

Every answer includes reasons (TreeSHAP) and advice (re-scoring changed offers), and every score
is written to the prediction store: this is the cost an adviser's dashboard sees.
Uses the champion of HARDTOFILL_TRACKING_URI when there is one; otherwise trains a small one
(40,000 generated offers) in benchmarks/.scratch. `python -m benchmarks.serving_bench [--quick]`.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.common import SCRATCH_DIR, save_result

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO.parent / "shared" / "data" / "offres_api_v2_sample.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _champion_env(scratch: Path) -> tuple[dict[str, str], str]:
    """Variables that point at a champion: the configured one, or a small one trained here."""
    from hardtofill.settings import get_settings
    from training.champion import ChampionUnavailable, load_champion

    try:
        champion = load_champion()
        return {}, f"configured champion version {champion.version}"
    except ChampionUnavailable:
        pass
    from features.generator.simulate import GeneratorConfig
    from features.generator.write import write_history
    from hardtofill.params import load_params, parse_params
    from training.pipeline import train

    root = scratch / "mlruns"
    env = {"HARDTOFILL_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
           "HARDTOFILL_ARTIFACT_ROOT": str(root / "artifacts")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        try:
            champion = load_champion()
        except ChampionUnavailable:
            history = scratch / "history.jsonl.gz"
            if not history.exists():
                write_history(GeneratorConfig(offers=40_000, months=14, seed=7), history, progress=False)
            # Gates relaxed (every one written out: params.yaml has no default gate).
            raw = load_params().model_dump(mode="json")
            raw["gates"] = {"quality": {"min_test_roc_auc": 0.0, "max_test_ece": 1.0,
                                        "min_lift_over_rate_baseline": -1.0, "min_lift_over_logistic": -1.0},
                            "non_regression": {"max_auc_drop": 1.0}, "fairness": False}
            params = parse_params(raw, "params.yaml (benchmark: relaxed gates)")
            train(history, params=params, progress=False)
            champion = load_champion()
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        get_settings.cache_clear()
    return env, f"small champion trained for the benchmark (version {champion.version})"


class _Server:
    def __init__(self, env: dict[str, str], log: Path):
        import httpx

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bentoml", "serve", "serving.service:HardToFill", "--host", "127.0.0.1",
             "--port", str(self.port)], cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bentoml serve exited: see {log}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"bentoml serve not ready in 120 s: see {log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        self.log.close()


def _percentiles(seconds: list[float]) -> dict:
    ms = np.array(seconds) * 1000
    return {"requests": len(ms), "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p90_ms": round(float(np.percentile(ms, 90)), 1), "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "max_ms": round(float(ms.max()), 1)}


def main(quick: bool = False) -> dict:
    import httpx

    from hardtofill.telemetry import TELEMETRY_OFF, switch_off_telemetry
    from serving.keys import hash_key, new_key
    from serving.store import PredictionStore

    switch_off_telemetry()
    scratch = SCRATCH_DIR / "serving"
    scratch.mkdir(parents=True, exist_ok=True)
    offers = json.loads(SAMPLE.read_text(encoding="utf-8"))
    champion_env, champion_note = _champion_env(scratch)
    store_path = scratch / "predictions.db"
    store_path.unlink(missing_ok=True)
    store_url = f"sqlite:///{store_path}"
    key = new_key()
    PredictionStore(store_url).add_api_key("benchmark", hash_key(key))
    env = {**os.environ, **TELEMETRY_OFF, **champion_env, "HARDTOFILL_STORE_URL": store_url,
           "BENTOML_HOME": str(scratch / "bentoml_home"), "OMP_NUM_THREADS": "1"}
    single_requests, batch_requests, concurrent_requests = (200, 3, 200) if quick else (1000, 10, 1000)
    headers = {"Authorization": f"Bearer {key}"}
    server = _Server(env, scratch / "server.log")
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
            for offer in offers[:20]:  # warm up
                client.post("/score", json={"offers": [offer]}).raise_for_status()
            latencies = []
            for i in range(single_requests):
                start = time.perf_counter()
                client.post("/score", json={"offers": [offers[i % len(offers)]]}).raise_for_status()
                latencies.append(time.perf_counter() - start)
            explain = []
            for i in range(min(200, single_requests)):
                start = time.perf_counter()
                client.post("/explain", json={"offer": offers[i % len(offers)]}).raise_for_status()
                explain.append(time.perf_counter() - start)
            batch = {"offers": (offers * 2)[:1000]}
            batch_seconds = []
            for _ in range(batch_requests):
                start = time.perf_counter()
                client.post("/score", json=batch).raise_for_status()
                batch_seconds.append(time.perf_counter() - start)

        def one(i: int) -> float:
            start = time.perf_counter()
            httpx.post(f"{server.url}/score", json={"offers": [offers[i % len(offers)]]}, headers=headers,
                       timeout=300).raise_for_status()
            return time.perf_counter() - start

        start = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            concurrent = list(pool.map(one, range(concurrent_requests)))
        concurrent_seconds = time.perf_counter() - start
    finally:
        server.stop()
    stored = len(PredictionStore(store_url).scores())
    result = {
        "quick": quick,
        "champion": champion_note,
        "service": "1 worker, 2 request threads, LightGBM 1 thread per request; scores stored in SQLite",
        "one_offer": _percentiles(latencies),
        "explain_one_offer": _percentiles(explain),
        "batch_of_1000": {"requests": batch_requests, "median_seconds": round(float(np.median(batch_seconds)), 3),
                          "offers_per_second": round(1000 / float(np.median(batch_seconds)))},
        "one_offer_8_clients": {**_percentiles(concurrent),
                                "requests_per_second": round(concurrent_requests / concurrent_seconds, 1)},
        "scores_stored": stored,
    }
    save_result("serving_quick" if quick else "serving", result)
    if not quick:  # a quick run checks that the benchmark works; it must not replace the figures
        _write_summary(result)
    return result


def _write_summary(result: dict) -> None:
    """Replace this benchmark's section of benchmarks/RESULTS.md, leaving the others alone."""
    path = Path(__file__).resolve().parent / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    begin, end = "<!-- serving:begin -->", "<!-- serving:end -->"
    one, batch, conc = result["one_offer"], result["batch_of_1000"], result["one_offer_8_clients"]
    section = (f"{begin}\n## Serving{' (quick)' if result['quick'] else ''}\n"
               f"Real `bentoml serve` on 127.0.0.1, {result['service']}; {result['champion']}.\n"
               f"- One offer per request (reasons + advice + stored): p50 {one['p50_ms']} ms, "
               f"p99 {one['p99_ms']} ms over {one['requests']} requests; `/explain` p50 "
               f"{result['explain_one_offer']['p50_ms']} ms.\n"
               f"- Batches of 1,000 offers: {batch['median_seconds']} s each, {batch['offers_per_second']} offers/s.\n"
               f"- One offer per request, 8 concurrent clients: {conc['requests_per_second']} requests/s, "
               f"p50 {conc['p50_ms']} ms, p99 {conc['p99_ms']} ms.\n{end}\n")
    if begin in text and end in text:
        text = text[:text.index(begin)] + section + text[text.index(end) + len(end) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    print(json.dumps(main(quick="--quick" in sys.argv), indent=2, ensure_ascii=False))
