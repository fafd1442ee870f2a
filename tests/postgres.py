"""A real PostgreSQL server from Debian's package, for the prediction store and the MLflow
registry tests (the fixture `postgres_url` lives in tests/conftest.py)."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin: install "
                    "Debian's `postgresql` package (.ci/run does it)")
    return Path(found[-1]).parent


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1 and a free port; its URL (psycopg 3)."""
    bin_dir = _postgres_bin()
    # initdb refuses to run as root: run the server as the `postgres` system user then.
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="hardtofill-pg-"))
    if as_root:
        user = "postgres"
        shutil.chown(base, user=user)
        prefix = ["runuser", "-u", user, "--"]
    data, log = base / "data", base / "server.log"
    port = free_port()
    subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "hardtofill",
                    "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
                   check=True, capture_output=True)
    subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                    "-o", f"-h 127.0.0.1 -p {port} -k {base} -F", "start"],
                   check=True, capture_output=True)
    try:
        url = f"postgresql+psycopg://hardtofill@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 30
        while subprocess.run([str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                pytest.fail(f"PostgreSQL did not start: {log.read_text() if log.exists() else ''}")
            time.sleep(0.2)
        yield url
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                        "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)




def new_database(server_url: str, name: str) -> str:
    """Create database `name` on the server at `server_url`; its URL."""
    import sqlalchemy as sa

    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
