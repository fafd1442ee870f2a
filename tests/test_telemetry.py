"""Telemetry off wherever the code is imported, not only through the CLI and the Makefile: checked
in fresh subprocesses whose environment holds none of the Makefile's variables.

Two kinds of checks: what each library itself decides (its own switch, read in the subprocess),
and, for `bentoml serve serving.service:HardToFill`, the network: every outbound HTTP(S)
connection the server tries goes through a recording proxy on 127.0.0.1 (HTTPS_PROXY), which must
see none, while a plain BentoML service serve the same way is seen phoning home.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from hardtofill.telemetry import TELEMETRY_OFF

REPO = Path(__file__).resolve().parents[1]
# Variables that make mlflow switch its telemetry off by itself (CI, pytest): removed too, so that
# only the project's switch can turn it off.
CI_MARKERS = ("PYTEST_CURRENT_TEST", "GITHUB_ACTIONS", "CI", "CIRCLECI", "GITLAB_CI", "JENKINS_URL", "TRAVIS",
              "BUILDKITE", "CODEBUILD_BUILD_ARN", "BITBUCKET_BUILD_NUMBER", "TF_BUILD", "GITHUB_RUN_ID")

PROBE = """
import json, sys
for statement in sys.argv[1:]:
    exec(statement)
import mlflow, evidently.telemetry
from mlflow.telemetry import get_telemetry_client
from mlflow.telemetry.utils import is_telemetry_disabled
from bentoml._internal.utils.analytics import usage_stats
print(json.dumps({
    "mlflow": is_telemetry_disabled() and get_telemetry_client() is None,
    "bentoml": usage_stats.do_not_track(),
    "evidently": not evidently.telemetry.event_logger.enabled(),
}))
"""


def fresh_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TELEMETRY_OFF and k not in CI_MARKERS
           and not k.startswith(("MLFLOW_", "BENTOML_", "HARDTOFILL_"))}
    return {**env, "BENTOML_HOME": str(tmp_path / "bentoml_home"), "HOME": str(tmp_path), **extra}


def probe(tmp_path: Path, *statements: str) -> dict[str, bool]:
    done = subprocess.run([sys.executable, "-c", PROBE, *statements], cwd=tmp_path, env=fresh_env(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_the_project_the_libraries_phone_home(tmp_path):
    # The control: in this environment nothing else switches telemetry off.
    assert probe(tmp_path) == {"mlflow": False, "bentoml": False, "evidently": False}


def test_importing_training_switches_telemetry_off(tmp_path):
    assert probe(tmp_path, "import training") == {"mlflow": True, "bentoml": True, "evidently": True}


def test_importing_the_service_after_bentoml_answered_switches_it_off(tmp_path):
    # What `bentoml serve serving.service:HardToFill` does: bentoml imported, and asked whether to
    # track (the answer cached) before the service module is imported.
    statements = ("import mlflow, bentoml", "from bentoml._internal.utils.analytics import usage_stats",
                  "assert not usage_stats.do_not_track()", "import serving.service")
    assert probe(tmp_path, *statements) == {"mlflow": True, "bentoml": True, "evidently": True}


@pytest.mark.parametrize("package", ["hardtofill", "features", "training", "serving", "monitoring"])
def test_every_package_sets_the_variables_when_imported(tmp_path, package):
    code = f"import os, {package}; print(json.dumps({{k: os.environ.get(k) for k in {list(TELEMETRY_OFF)}}}))"
    done = subprocess.run([sys.executable, "-c", "import json; " + code], cwd=tmp_path, env=fresh_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == TELEMETRY_OFF


def test_an_explicit_choice_of_the_user_wins(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import os, training; print(os.environ['DO_NOT_TRACK'])"],
                          cwd=tmp_path, env=fresh_env(tmp_path, DO_NOT_TRACK="1"), capture_output=True, text=True)
    assert done.stdout.strip() == "1", done.stderr


# ---- the network, with a real `bentoml serve` -----------------------------------------------------


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 that records the first line of every request (e.g.
    `CONNECT t.bentoml.com:443`) and refuses to go further."""

    def __init__(self):
        self.requests: list[str] = []
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                try:
                    self.requests.append(connection.recv(4096).split(b"\r\n")[0].decode("latin-1"))
                    connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def close(self):
        self.socket.close()


HELLO_SERVICE = """
import bentoml

@bentoml.service
class Hello:
    @bentoml.api
    def hello(self, name: str) -> str:
        return name
"""


def serve(module: str, cwd: Path, env: dict[str, str], log: Path, until=lambda: True) -> None:
    """Start `bentoml serve module` on a free port, wait until it answers /healthz (and `until()`
    holds), then stop it as an operator would (SIGTERM) and wait for its exit."""
    import signal

    from tests.postgres import free_port

    port = free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bentoml", "serve", module, "--host", "127.0.0.1",
                                    "--port", str(port)], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while True:
                assert process.poll() is None, log.read_text(errors="replace")[-3000:]
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200 and until():
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"not up in 120 s: {log.read_text(errors='replace')[-3000:]}"
                time.sleep(0.3)
            httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.mark.integration
@pytest.mark.slow
def test_bentoml_serve_of_the_service_phones_nowhere(tmp_path):
    proxy = RecordingProxy()
    try:
        env = fresh_env(tmp_path, HTTPS_PROXY=proxy.url, HTTP_PROXY=proxy.url, NO_PROXY="127.0.0.1,localhost",
                        PYTHONPATH=str(REPO))
        # The control: a plain BentoML service, served the same way, is seen phoning home.
        (tmp_path / "hello.py").write_text(HELLO_SERVICE, encoding="utf-8")
        serve("hello:Hello", tmp_path, env, tmp_path / "hello.log", until=lambda: bool(proxy.requests))
        assert any("bentoml.com" in line for line in proxy.requests), proxy.requests
        proxy.requests.clear()

        # The project's service, as serving/service.py advertises it, with an empty store (not ready:
        # no model needed to start, import mlflow and bentoml).
        env |= {"HARDTOFILL_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
                "HARDTOFILL_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
                "HARDTOFILL_STORE_URL": f"sqlite:///{tmp_path / 'predictions.db'}", "OMP_NUM_THREADS": "1"}
        serve("serving.service:HardToFill", REPO, env, tmp_path / "service.log")
        assert proxy.requests == [], proxy.requests
    finally:
        proxy.close()
