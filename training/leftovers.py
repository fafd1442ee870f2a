"""What an interrupted or rejected training leaves behind, and how it is cleared up.

- A training killed while its MLflow run is open leaves the run RUNNING forever (MLflow has no
  heartbeat). Every training run is tagged with the host (a digest of its name) and the process
  that runs it (`process_tags`); at the next `hardtofill train`, `close_dead_runs` ends as KILLED
  every RUNNING run whose process on this host is gone. A run from another host is left alone (its process
  cannot be checked from here) and reported.
- A killed or rejected training leaves a model version without an alias. `stray_versions` lists
  the versions that hold no alias and never held `champion` (the audit log says so; former
  champions are rollback targets, never strays); `hardtofill strays` shows them and, on request,
  archives them (a version tag, they leave the list) or deletes them from the registry (the run
  and its artifacts stay: nothing stored is lost).
"""

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

HOST_TAG, PID_TAG, STARTED_TAG = "hardtofill.host", "hardtofill.pid", "hardtofill.process_started"
CLOSED_TAG = "hardtofill.closed"
ARCHIVED_TAG = "hardtofill.archived"


def _process_started(pid: int) -> float | None:
    """The process's start time (distinguishes it from a later process given the same pid)."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def host_id() -> str:
    """This machine, as a digest: a host name may hold a person's name, MLflow must not."""
    import hashlib

    return hashlib.sha256(socket.gethostname().encode("utf-8")).hexdigest()[:16]


def process_tags() -> dict[str, str]:
    """Tags of a training run naming the process that runs it."""
    return {HOST_TAG: host_id(), PID_TAG: str(os.getpid()),
            STARTED_TAG: repr(_process_started(os.getpid()))}


def _alive(tags: dict[str, str]) -> bool:
    try:
        pid = int(tags[PID_TAG])
    except (KeyError, ValueError):
        return False
    started = _process_started(pid)
    return started is not None and repr(started) == tags.get(STARTED_TAG)


@dataclass
class OpenRun:
    run_id: str
    experiment: str
    started: str
    host: str | None
    pid: str | None
    closed: bool  # ended as KILLED now; False: left open (another host, or no process tags)

    def message(self) -> str:
        where = f"process {self.pid} on host {self.host}"
        if self.closed:
            return (f"MLflow run {self.run_id} (started {self.started}) was left RUNNING by a training that "
                    f"did not finish ({where} is gone): ended as KILLED.")
        if not self.host:
            return (f"MLflow run {self.run_id} (started {self.started}) is RUNNING without process tags (an "
                    "older training): left as it is; end it in the MLflow UI if no training is running.")
        return (f"MLflow run {self.run_id} (started {self.started}) is RUNNING in {where}, another "
                "machine: left as it is, its process cannot be checked from here.")


def _experiments(client) -> list:
    from training.registry import EXPERIMENT

    return [e for e in client.search_experiments() if e.name == EXPERIMENT or e.name.startswith(f"{EXPERIMENT} @ ")]


def close_dead_runs(client) -> list[OpenRun]:
    """End as KILLED the RUNNING training runs whose process on this host is gone; return every
    RUNNING run found (closed or not), oldest first."""
    experiments = {e.experiment_id: e.name for e in _experiments(client)}
    if not experiments:
        return []
    host = host_id()
    found: list[OpenRun] = []
    runs = client.search_runs(list(experiments), filter_string="attributes.status = 'RUNNING'",
                              order_by=["attributes.start_time ASC"])
    for run in runs:
        tags = run.data.tags
        started = datetime.fromtimestamp(run.info.start_time / 1000, UTC).isoformat(timespec="seconds")
        mine = tags.get(HOST_TAG) == host
        if mine and _alive(tags):
            continue  # a training running now on this host
        if mine:
            client.set_tag(run.info.run_id, CLOSED_TAG,
                           f"{datetime.now(UTC).isoformat(timespec='seconds')}: process {tags.get(PID_TAG)} "
                           "gone, ended by the next training")
            client.set_terminated(run.info.run_id, status="KILLED")
        found.append(OpenRun(run.info.run_id, experiments[run.info.experiment_id], started,
                             tags.get(HOST_TAG), tags.get(PID_TAG), closed=mine))
    return found


# ---- model versions without an alias ---------------------------------------------------------------


@dataclass
class StrayVersion:
    version: str
    created: str
    run_id: str | None
    run_status: str
    archived: str | None

    @property
    def why(self) -> str:
        if self.run_status in ("KILLED", "FAILED", "RUNNING"):
            return f"its training did not finish (run {self.run_status})"
        if self.run_status == "FINISHED":
            return "trained, never champion, no longer candidate"
        return f"run {self.run_status}"


def _run_status(client, run_id: str | None) -> str:
    from mlflow.exceptions import MlflowException

    if not run_id:
        return "no run"
    try:
        return client.get_run(run_id).info.status
    except MlflowException:
        return "run deleted"


def former_champions(audit: list[dict], model_name: str) -> set[str]:
    moves = [e for e in audit if e.get("model") == model_name and e.get("alias") == "champion"]
    return {str(e[side]) for e in moves for side in ("from", "to") if e.get(side)}


def stray_versions(client, model_name: str, audit: list[dict], include_archived: bool = False) -> list[StrayVersion]:
    """Versions of `model_name` with no alias that never were champion, oldest first."""
    from mlflow.exceptions import MlflowException

    try:
        aliased = {str(v) for v in client.get_registered_model(model_name).aliases.values()}
    except MlflowException:
        return []  # no such model yet
    keep = aliased | former_champions(audit, model_name)
    strays = []
    versions = client.search_model_versions(f"name = '{model_name}'")
    for version in sorted(versions, key=lambda v: int(v.version)):
        if str(version.version) in keep:
            continue
        archived = (version.tags or {}).get(ARCHIVED_TAG)
        if archived and not include_archived:
            continue
        created = datetime.fromtimestamp(version.creation_timestamp / 1000, UTC).isoformat(timespec="seconds")
        strays.append(StrayVersion(str(version.version), created, version.run_id,
                                   _run_status(client, version.run_id), archived))
    return strays


def archive_version(client, model_name: str, version: str, who: str) -> None:
    client.set_model_version_tag(model_name, version, ARCHIVED_TAG,
                                 f"{datetime.now(UTC).isoformat(timespec='seconds')} by {who}")


def delete_version(client, model_name: str, version: str) -> None:
    """Remove the version from the registry; its run, logged model and artifacts stay in MLflow."""
    client.delete_model_version(model_name, version)
