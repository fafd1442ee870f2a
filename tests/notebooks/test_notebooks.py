"""The notebooks run, top to bottom, in a fresh kernel of this environment on the small history,
and are committed without outputs and in step with their jupytext sources."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = ROOT / "notebooks"
SAMPLE_PATH = ROOT.parent / "shared" / "data" / "offres_api_v2_sample.json"


def _runner():
    """notebooks/run.py is a script, not a package: load it by path."""
    spec = importlib.util.spec_from_file_location("notebooks_run", NOTEBOOKS_DIR / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _runner()


@pytest.fixture(scope="module")
def kernels_dir(tmp_path_factory):
    return run.kernel_spec_dir(tmp_path_factory.mktemp("kernels"))


def _outputs(notebook, output_type: str) -> list:
    return [output for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.outputs if output.output_type == output_type]


def _text(notebook) -> str:
    parts = [output.get("text", "") for output in _outputs(notebook, "stream")]
    for output in _outputs(notebook, "display_data") + _outputs(notebook, "execute_result"):
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def _images(notebook) -> int:
    return sum("image/png" in output.get("data", {}) for output in _outputs(notebook, "display_data"))


@pytest.mark.parametrize("name", run.NOTEBOOKS)
def test_committed_notebook_has_no_outputs(name):
    import nbformat

    notebook = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{name} has no code cell"
    dirty = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, f"{name}: cells {dirty} carry outputs: run `notebooks/run.py --build` and commit"


@pytest.mark.parametrize("name", run.NOTEBOOKS)
def test_notebook_matches_its_jupytext_source(name):
    import jupytext
    import nbformat

    committed = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    source = jupytext.read(NOTEBOOKS_DIR / Path(name).with_suffix(".py").name)
    as_cells = [(cell.cell_type, cell.source) for cell in committed.cells]
    assert as_cells == [(cell.cell_type, cell.source) for cell in source.cells], (
        f"{name} differs from its .py source: run `notebooks/run.py --build`")


def test_kernel_runs_this_environment(tmp_path, kernels_dir):
    import nbformat

    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")])
    path = tmp_path / "probe.ipynb"
    nbformat.write(probe, path)
    executed = run.execute(path, kernels_dir, timeout=120)
    assert _text(executed).strip() == sys.executable


def test_a_failing_cell_fails_the_run(tmp_path, kernels_dir):
    import nbformat

    broken = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                             nbformat.v4.new_code_cell("raise ValueError('no history')")])
    path = tmp_path / "broken.ipynb"
    nbformat.write(broken, path)
    with pytest.raises(run.CellFailed, match=r"broken.ipynb: cell 1 failed: ValueError: no history"):
        run.execute(path, kernels_dir, timeout=120)


@pytest.mark.slow
def test_offer_history_notebook_runs_on_the_small_history(small_history_path, kernels_dir, monkeypatch):
    if not SAMPLE_PATH.is_file():
        pytest.fail(f"real API sample not found at {SAMPLE_PATH}: clone the project beside ../shared")
    monkeypatch.setenv("HARDTOFILL_HISTORY_PATH", str(small_history_path))
    monkeypatch.setenv("HARDTOFILL_SAMPLE_PATH", str(SAMPLE_PATH))
    executed = run.execute(NOTEBOOKS_DIR / "01_offer_history.ipynb", kernels_dir)
    text = _text(executed)
    assert not _outputs(executed, "error")
    assert "40,000 offers" in text  # it read the history the settings point at
    assert "519 real offers" in text
    assert "rank agreement with the BMO" in text
    assert _images(executed) >= 10


@pytest.mark.slow
def test_champion_notebook_runs_on_a_champion_trained_on_the_small_history(trained_store_env, kernels_dir,
                                                                          monkeypatch):
    if not SAMPLE_PATH.is_file():
        pytest.fail(f"real API sample not found at {SAMPLE_PATH}: clone the project beside ../shared")
    monkeypatch.setenv("HARDTOFILL_SAMPLE_PATH", str(SAMPLE_PATH))
    executed = run.execute(NOTEBOOKS_DIR / "02_champion_model.ipynb", kernels_dir)
    text = _text(executed)
    assert not _outputs(executed, "error")
    # It loaded the store's champion (the kernel inherited the HARDTOFILL_* variables) ...
    assert f"version {trained_store_env.champion_version} (run {trained_store_env.run_id})" in text
    assert "probabilities recomputed from the loaded model match the stored ones" in text
    # ... and explained offers in French, test offers and real ones through the serving pipeline.
    assert "augmente le risque" in text or "diminue le risque" in text
    assert text.count("probabilité ") >= 3
    assert _images(executed) >= 8
