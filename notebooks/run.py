"""Execute the notebooks in a fresh kernel of this environment's Python, as the tests do.

    .venv/bin/python notebooks/run.py                 # both, executed copies in reports/notebooks/
    .venv/bin/python notebooks/run.py 01_offer_history.ipynb --out /tmp/executed
    .venv/bin/python notebooks/run.py --build         # rebuild the .ipynb from the .py sources

The committed .ipynb hold no outputs; the executed copies go to the reports folder
(HARDTOFILL_REPORTS_DIR, default reports/), which git ignores. Settings come from the
HARDTOFILL_* environment variables, as for the CLI.
"""

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOKS = ("01_offer_history.ipynb", "02_champion_model.ipynb")
KERNEL_NAME = "hardtofill-python"


class CellFailed(RuntimeError):
    """A cell raised; the message names the notebook, the cell and the error."""


def kernel_spec_dir(directory: Path) -> Path:
    """A kernelspec whose argv is this interpreter (sys.executable), so that the notebooks run in
    the same environment as the caller, whatever kernels the user has installed elsewhere."""
    from ipykernel.kernelspec import write_kernel_spec

    target = Path(directory) / KERNEL_NAME
    write_kernel_spec(str(target), overrides={"display_name": "hardtofill (this environment)"})
    return Path(directory)


def execute(path: Path, kernels_dir: Path, timeout: int = 600):
    """Run every cell of the notebook at `path` in a fresh kernel started in its folder; returns
    the executed notebook, or raises CellFailed."""
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    manager = KernelManager(kernel_name=KERNEL_NAME,
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels_dir)]))
    client = NotebookClient(notebook, km=manager, timeout=timeout, kernel_name=KERNEL_NAME,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as error:
        failed = next((i for i, cell in enumerate(notebook.cells) if any(
            output.get("output_type") == "error" for output in cell.get("outputs", []))), "?")
        summary = f"{error.ename}: {error.evalue}"
        raise CellFailed(f"{path.name}: cell {failed} failed: {summary}\n{error}") from None
    return notebook


def build(names=NOTEBOOKS) -> list[Path]:
    """Write each .ipynb from its jupytext percent script (.py), without outputs."""
    import jupytext

    written = []
    for name in names:
        source = HERE / Path(name).with_suffix(".py").name
        notebook = jupytext.read(source)
        for index, cell in enumerate(notebook.cells):
            cell.id = f"cell-{index:02d}"  # stable ids: a rebuild changes only what was edited
        target = source.with_suffix(".ipynb")
        jupytext.write(notebook, target, fmt="ipynb")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    import tempfile

    import nbformat

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", default=list(NOTEBOOKS))
    parser.add_argument("--out", type=Path, help="folder for the executed copies (default <reports>/notebooks)")
    parser.add_argument("--build", action="store_true", help="rebuild the .ipynb from the .py and stop")
    arguments = parser.parse_args(argv)
    if arguments.build:
        for path in build(arguments.notebooks):
            print(f"wrote {path}")
        return 0
    sys.path.insert(0, str(HERE.parent))
    from hardtofill.settings import get_settings
    from hardtofill.telemetry import switch_off_telemetry

    switch_off_telemetry()  # the kernel inherits the environment
    out = arguments.out or (HERE.parent / get_settings().reports_dir / "notebooks")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as kernels:
        kernel_spec_dir(Path(kernels))
        for name in arguments.notebooks:
            path = HERE / Path(name).name
            print(f"running {path.name} ...", flush=True)
            try:
                executed = execute(path, Path(kernels))
            except CellFailed as error:
                print(str(error).splitlines()[0], file=sys.stderr)
                return 1
            nbformat.write(executed, out / path.name)
            print(f"  executed copy: {out / path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
