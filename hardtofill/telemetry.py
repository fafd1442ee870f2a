"""Nothing may leave the machine: switch off the telemetry of mlflow, bentoml and evidently.

`telemetry_off` runs when any of the project's packages is imported (their `__init__`), so that
`bentoml serve serving.service:HardToFill`, `import training` in Python or a notebook are covered,
not only the `hardtofill` CLI and the Makefile. It only sets environment variables (an explicit
value set by the user wins) and makes the libraries already imported read them again.
"""

import os
import sys
from pathlib import Path

TELEMETRY_OFF = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",  # evidently (and the general convention)
    "BENTOML_DO_NOT_TRACK": "true",  # DO_NOT_TRACK alone is not enough for bentoml
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "GIT_PYTHON_REFRESH": "quiet",
}


def telemetry_off() -> None:
    """Set the variables; then make bentoml and mlflow, if already imported, see them."""
    for name, value in TELEMETRY_OFF.items():
        os.environ.setdefault(name, value)
    # `bentoml serve` asks (and caches) whether to track before it imports the service module,
    # then tracks the serve and the command with that cached answer: make it ask again.
    usage_stats = sys.modules.get("bentoml._internal.utils.analytics.usage_stats")
    if usage_stats is not None:
        usage_stats.do_not_track.cache_clear()
    # mlflow starts its telemetry client when imported; each event checks the variables again,
    # but drop a client started before them so that nothing queued is sent at exit.
    client_module = sys.modules.get("mlflow.telemetry.client")
    if client_module is not None and client_module.get_telemetry_client() is not None:
        client_module.get_telemetry_client().flush(terminate=True)
        client_module.set_telemetry_client()


def switch_off_telemetry() -> None:
    """The CLI's and notebooks' switch: telemetry off, and bentoml's files kept in the project
    (it writes to ~/bentoml unless told otherwise; only a command may choose the folder)."""
    telemetry_off()
    os.environ.setdefault("BENTOML_HOME", str(Path("bentoml_home").resolve()))
