"""Training, promotion and monitoring parameters: one YAML file (params.yaml)."""

from pathlib import Path
from typing import Any

import yaml

from hardtofill.settings import get_settings


class ParamsError(ValueError):
    """The parameter file is missing or malformed; the message names the file and the key."""


def load_params(path: Path | None = None) -> dict[str, Any]:
    path = Path(path or get_settings().params_path)
    if not path.is_file():
        raise ParamsError(f"parameter file {path} not found (set HARDTOFILL_PARAMS_PATH)")
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ParamsError(f"parameter file {path} is not valid YAML: {error}") from error
    if not isinstance(params, dict):
        raise ParamsError(f"parameter file {path} must hold a mapping of sections")
    return params


def section(name: str, path: Path | None = None) -> dict[str, Any]:
    params = load_params(path)
    if name not in params or not isinstance(params[name], dict):
        raise ParamsError(f"parameter file has no section '{name}'")
    return params[name]
