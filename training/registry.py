"""The MLflow registry side: experiment setup, alias moves and their append-only audit log.

MLflow keeps no history of aliases, so every move of `champion` (who, when, from, to, why) is
appended to `alias_audit.jsonl`, kept beside the SQLite registry (or under the artifact root
for other stores).
"""

import getpass
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from training.contract import EXPERIMENT  # the registry's names are in training.contract


class RegistryError(RuntimeError):
    """An alias move that cannot be done; the message says why in one line."""


def setup_mlflow(tracking_uri: str, artifact_root: Path, experiment: str = EXPERIMENT) -> str:
    """Point MLflow at the store and make sure the experiment keeps its artifacts under
    `artifact_root` (otherwise they land in ./mlruns of whatever the working directory is)."""
    import mlflow

    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri)
    client = mlflow.MlflowClient()
    root = Path(artifact_root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return client.create_experiment(experiment, artifact_location=root.as_uri())
    if keeps_artifacts_under(found.artifact_location, root):
        return found.experiment_id
    return experiment_for_root(client, experiment, found.artifact_location, root)


def keeps_artifacts_under(artifact_location: str, root: Path) -> bool:
    from urllib.parse import urlsplit

    from mlflow.utils.file_utils import local_file_uri_to_path

    if urlsplit(artifact_location).scheme not in ("", "file"):
        return False
    return Path(local_file_uri_to_path(artifact_location)).resolve().is_relative_to(root)


def experiment_for_root(client, experiment: str, elsewhere: str, root: Path) -> str:
    """MLflow cannot move an experiment's artifact location, and a store copied elsewhere still
    names the original folder: new runs then go to the experiment `<experiment> @ <root>`, created
    under `root` when missing, so that nothing is written into another store's folder."""
    import logging

    name = f"{experiment} @ {root}"
    found = client.get_experiment_by_name(name)
    experiment_id = found.experiment_id if found is not None else client.create_experiment(
        name, artifact_location=root.as_uri())
    logging.getLogger("hardtofill.training").warning(
        "experiment '%s' keeps its artifacts in %s, outside HARDTOFILL_ARTIFACT_ROOT=%s: this run goes to "
        "experiment '%s'", experiment, elsewhere, root, name)
    return experiment_id


def audit_log_path(tracking_uri: str, artifact_root: Path) -> Path:
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri.removeprefix("sqlite:///")).with_name("alias_audit.jsonl")
    return Path(artifact_root) / "alias_audit.jsonl"


def actor() -> str:
    """Who moved the alias: HARDTOFILL_ACTOR, else the system user."""
    name = os.environ.get("HARDTOFILL_ACTOR")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def read_audit(path: Path) -> list[dict]:
    if not Path(path).is_file():
        return []
    return [json.loads(line) for line in Path(path).read_text("utf-8").splitlines() if line.strip()]


def alias_version(client, model_name: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None


def move_alias(client, model_name: str, alias: str, version: str, reason: str,
               audit_path: Path, action: str) -> dict:
    """Set `alias` on `version`, then append the move to the audit log (fsync'd)."""
    before = alias_version(client, model_name, alias)
    client.set_registered_model_alias(model_name, alias, str(version))
    entry = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "who": actor(),
             "model": model_name, "alias": alias, "from": before, "to": str(version),
             "action": action, "why": reason}
    audit_path = Path(audit_path)
    audit_path.parent.mkdir(parents=True, exist_ok=True)
    with open(audit_path, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        log.flush()
        os.fsync(log.fileno())
    return entry


def promote(client, model_name: str, version: str, reason: str, audit_path: Path) -> dict:
    from mlflow.exceptions import MlflowException

    if not reason.strip():
        raise RegistryError("--reason must say why the champion changes")
    try:
        client.get_model_version(model_name, str(version))
    except MlflowException:
        raise RegistryError(f"model '{model_name}' has no version {version}") from None
    return move_alias(client, model_name, "champion", str(version), reason, audit_path, "promote")


def previous_champion(audit: list[dict], model_name: str, current: str | None) -> str | None:
    """The version that was champion before the current one, from the audit log: moves stack up,
    rollbacks pop them, so that two rollbacks go two steps back rather than back and forth."""
    stack: list[str] = []
    for entry in audit:
        if entry.get("model") != model_name or entry.get("alias") != "champion":
            continue
        if entry.get("action") == "rollback":
            if stack and stack[-1] == entry.get("from"):
                stack.pop()
            if not stack or stack[-1] != entry.get("to"):
                stack.append(entry["to"])
        else:
            if not stack and entry.get("from"):
                stack.append(entry["from"])
            stack.append(entry["to"])
    while stack and stack[-1] == current:
        stack.pop()
    return stack[-1] if stack else None


def rollback(client, model_name: str, reason: str, audit_path: Path) -> dict:
    if not reason.strip():
        raise RegistryError("--reason must say why the champion is rolled back")
    current = alias_version(client, model_name, "champion")
    if current is None:
        raise RegistryError(f"model '{model_name}' has no champion to roll back")
    previous = previous_champion(read_audit(audit_path), model_name, current)
    if previous is None:
        raise RegistryError(f"the audit log {audit_path} shows no champion before version {current}")
    return move_alias(client, model_name, "champion", previous, reason, audit_path, "rollback")
