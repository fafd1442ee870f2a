"""Commands of the training package: `hardtofill train | promote | rollback | strays`."""

from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True, soft_wrap=True)  # whole lines: messages are grepped in logs


def train(
    history: Path = typer.Option(None, "--history", help="Offer history: Parquet folder (`hardtofill ingest`) "
                                 "or JSON lines [default: HARDTOFILL_HISTORY_PATH, generated when missing]"),
    until: str = typer.Option(None, "--until", help="Replay the history as known on this date (YYYY-MM-DD)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress display."),
    scheduler: str = typer.Option(None, "--scheduler", help="Train on the Dask cluster of this scheduler "
                                  "(tcp://HOST:8786) [default: HARDTOFILL_DASK_SCHEDULER, else this machine]."),
) -> None:
    """Train, evaluate and audit a model; register it as `candidate`, and `champion` if every gate passes."""
    from hardtofill.params import ParamsError, get_params
    from training.pipeline import TrainingError
    from training.pipeline import train as run_training

    if until is not None:
        from datetime import date

        try:
            date.fromisoformat(until)
        except ValueError:
            console.print(f"[red]--until: {until!r} is not a date (YYYY-MM-DD)[/red]")
            raise typer.Exit(2) from None
    _close_dead_runs()
    try:
        outcome = run_training(history, until, get_params(), progress=not quiet, scheduler=scheduler)
    except (TrainingError, ParamsError, FileNotFoundError) as error:
        console.print(f"[red]train: {error}[/red]")
        raise typer.Exit(2) from None
    m = outcome.metrics
    console.print(f"Run {outcome.run_id}: model version {outcome.version} (alias candidate). "
                  f"Test ROC AUC {m['test_roc_auc']:.4f} (logistic {m['logistic_test_roc_auc']:.4f}, "
                  f"occupation x region rate {m['baseline_rate_test_roc_auc']:.4f}, oracle "
                  f"{m['oracle_test_roc_auc']:.4f}), ECE {m['test_ece']:.4f}.")
    if outcome.promoted:
        console.print(f"[green]Every gate passed: version {outcome.version} is the champion"
                      + (f" (was {outcome.previous_champion})." if outcome.previous_champion else ".") + "[/green]")
        return
    console.print(f"[red]Version {outcome.version} NOT promoted; champion stays "
                  f"{outcome.previous_champion or 'unset'}. Failed gates:[/red]")
    for gate in outcome.failed_gates:
        console.print(f"[red]  - {gate.message}[/red]")
    raise typer.Exit(1)


def _registry():
    import mlflow

    from hardtofill.settings import get_settings
    from training.registry import audit_log_path

    settings = get_settings()
    mlflow.set_tracking_uri(settings.tracking_uri)
    return mlflow.MlflowClient(), settings.model_name, audit_log_path(settings.tracking_uri, settings.artifact_root)


def _close_dead_runs() -> None:
    """Say which earlier trainings were killed and end their runs (training.leftovers)."""
    from hardtofill.settings import get_settings
    from training.leftovers import close_dead_runs

    if _no_store_yet(get_settings().tracking_uri):
        return  # a first training: nothing left behind
    client, model_name, audit = _registry()
    for run in close_dead_runs(client):
        console.print(f"[yellow]{run.message()}[/yellow]")
    _mention_strays(client, model_name, audit)


def _no_store_yet(uri: str) -> bool:
    return uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file()


def _mention_strays(client, model_name: str, audit: Path) -> None:
    from training.leftovers import stray_versions
    from training.registry import read_audit

    strays = stray_versions(client, model_name, read_audit(audit))
    if strays:
        console.print(f"[yellow]{len(strays)} version(s) of '{model_name}' without an alias "
                      f"({', '.join(s.version for s in strays)}): see `hardtofill strays`.[/yellow]")


def strays(
    archive: bool = typer.Option(False, "--archive", help="Tag them archived: they leave this list."),
    delete: bool = typer.Option(False, "--delete", help="Delete them from the registry (their runs and "
                                "artifacts stay in MLflow)."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask before deleting."),
    include_archived: bool = typer.Option(False, "--all", help="List archived versions too."),
) -> None:
    """List model versions with no alias that never were champion (left by killed or rejected
    trainings); archive or delete them on request. Former champions are kept: rollback needs them."""
    from hardtofill.settings import get_settings
    from training.leftovers import archive_version, delete_version, stray_versions
    from training.registry import actor, read_audit

    if archive and delete:
        console.print("[red]strays: --archive or --delete, not both[/red]")
        raise typer.Exit(2)
    if _no_store_yet(get_settings().tracking_uri):
        console.print(f"No MLflow store at {get_settings().tracking_uri} yet: nothing trained, no stray version.")
        return
    client, model_name, audit = _registry()
    found = stray_versions(client, model_name, read_audit(audit), include_archived=include_archived)
    if not found:
        console.print(f"No stray version of '{model_name}': every version holds an alias or was champion.")
        return
    for stray in found:
        state = f"\tarchived {stray.archived}" if stray.archived else ""
        print(f"{stray.version}\tcreated {stray.created}\trun {stray.run_id} {stray.run_status}\t{stray.why}{state}")
    if delete and not yes:
        typer.confirm(f"Delete {len(found)} version(s) from the registry?", abort=True, err=True)
    for stray in found:
        if archive and not stray.archived:
            archive_version(client, model_name, stray.version, actor())
        elif delete:
            delete_version(client, model_name, stray.version)
    if archive:
        console.print(f"Archived {len(found)} version(s) of '{model_name}' (tag hardtofill.archived).")
    elif delete:
        console.print(f"Deleted {len(found)} version(s) of '{model_name}' from the registry; their runs stay.")


def promote(
    version: int = typer.Option(..., "--version", help="Model version to make champion."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit log)."),
) -> None:
    """Make a model version the champion by hand; the move is appended to the audit log."""
    from training.registry import RegistryError
    from training.registry import promote as promote_version

    client, model_name, audit = _registry()
    try:
        entry = promote_version(client, model_name, str(version), reason, audit)
    except RegistryError as error:
        console.print(f"[red]promote: {error}[/red]")
        raise typer.Exit(1) from None
    console.print(f"champion of '{model_name}': {entry['from'] or 'unset'} -> {entry['to']} "
                  f"(logged in {audit})")


def rollback(reason: str = typer.Option(..., "--reason", help="Why (kept in the audit log).")) -> None:
    """Give `champion` back to the version that held it before; the move is appended to the audit log."""
    from training.registry import RegistryError
    from training.registry import rollback as rollback_champion

    client, model_name, audit = _registry()
    try:
        entry = rollback_champion(client, model_name, reason, audit)
    except RegistryError as error:
        console.print(f"[red]rollback: {error}[/red]")
        raise typer.Exit(1) from None
    console.print(f"champion of '{model_name}' rolled back: {entry['from']} -> {entry['to']} (logged in {audit})")


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command()(promote)
    app.command()(rollback)
    app.command()(strays)
