"""Fixtures of the serving tests: real `bentoml serve` processes (PostgreSQL: tests/postgres.py)."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.postgres import free_port

# --- a real `bentoml serve` on a free local port ---------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


class Server:
    """A `bentoml serve serving.service:HardToFill` subprocess; its log goes to `log_path`."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env, self.log_path = env, log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, ready: bool = True) -> "Server":
        import httpx

        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [str(REPO / ".venv/bin/python"), "-m", "bentoml", "serve", "serving.service:HardToFill",
             "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"bentoml serve exited ({self.process.returncode}): {self.log_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    if not ready or httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                        return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"bentoml serve not ready in 90 s: {self.log_text()[-3000:]}")
            time.sleep(0.3)

    def stop(self) -> None:
        import signal

        if self.process is not None and self.process.poll() is None:
            # The server and its workers share the session this process leads: end them together.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        if getattr(self, "log", None) is not None:
            self.log.close()
            self.log = None

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""


def server_env(tmp: Path, store_url: str, extra: dict[str, str]) -> dict[str, str]:
    from hardtofill.telemetry import TELEMETRY_OFF

    return {**os.environ, **TELEMETRY_OFF, **extra, "HARDTOFILL_STORE_URL": store_url,
            "BENTOML_HOME": str(tmp / "bentoml_home"), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="session")
def serving_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("serving")


@pytest.fixture(scope="session")
def store_url(serving_dir):
    return f"sqlite:///{serving_dir / 'predictions.db'}"


@pytest.fixture(scope="session")
def api_key(store_url):
    from serving.keys import hash_key, new_key
    from serving.store import PredictionStore

    key = new_key()
    store = PredictionStore(store_url)
    store.add_api_key("tests", hash_key(key))
    store.close()
    return key


@pytest.fixture(scope="session")
def server(trained_store, serving_dir, store_url, api_key):
    """The service with the trained champion, shared by the tests of this folder."""
    running = Server(server_env(serving_dir, store_url, trained_store.env), serving_dir / "server.log").start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def server_factory(trained_store, tmp_path_factory):
    """Start extra servers (their own store unless given); all stopped at the end of the session."""
    started: list[Server] = []

    def start(store_url: str | None = None, env: dict[str, str] | None = None, ready: bool = True) -> Server:
        tmp = tmp_path_factory.mktemp("server")
        url = store_url or f"sqlite:///{tmp / 'predictions.db'}"
        server = Server(server_env(tmp, url, trained_store.env if env is None else env), tmp / "server.log")
        started.append(server)
        return server.start(ready=ready)

    yield start
    for server in started:
        server.stop()


# The real browser of the dashboard and docs-page tests (Debian's chromium, started offline).
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's `chromium` package (.ci/run does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()
