"""The first cell of every notebook: the same settings and working folder as the CLI."""

import os
from pathlib import Path

from hardtofill.settings import Settings


def repository_root(start: Path) -> Path:
    """The repository holding `start`: settings' relative paths start there, as for the CLI."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "features").is_dir():
            return folder
    raise FileNotFoundError(f"no hardtofill repository above {start}")


def start_notebook() -> tuple[Path, Settings]:
    """Work from the repository root, telemetry off, settings read afresh (a kernel reused after
    changing HARDTOFILL_* sees the new values), one plot style. Returns the root and settings."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from hardtofill.settings import get_settings
    from hardtofill.telemetry import switch_off_telemetry

    root = repository_root(Path.cwd().resolve())
    os.chdir(root)
    switch_off_telemetry()
    get_settings.cache_clear()
    plt.rcParams.update({"figure.figsize": (10, 4), "axes.grid": True, "grid.alpha": 0.3})
    pd.options.display.float_format = "{:.3f}".format
    return root, get_settings()
