"""Nothing may leave the machine: switch off the telemetry of mlflow, bentoml and evidently."""

import os
from pathlib import Path

TELEMETRY_OFF = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",  # evidently (and the general convention)
    "BENTOML_DO_NOT_TRACK": "true",  # DO_NOT_TRACK alone is not enough for bentoml
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "GIT_PYTHON_REFRESH": "quiet",
}


def switch_off_telemetry() -> None:
    """Set the variables before the packages are imported; an explicit value set by the user wins."""
    for name, value in TELEMETRY_OFF.items():
        os.environ.setdefault(name, value)
    # bentoml writes to ~/bentoml unless told otherwise: keep its files in the project.
    os.environ.setdefault("BENTOML_HOME", str(Path("bentoml_home").resolve()))
