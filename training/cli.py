"""Commands of the training package: `hardtofill train | promote | rollback`."""

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
    from hardtofill.params import ParamsError, load_params
    from training.pipeline import TrainingError
    from training.pipeline import train as run_training

    if until is not None:
        from datetime import date

        try:
            date.fromisoformat(until)
        except ValueError:
            console.print(f"[red]--until: {until!r} is not a date (YYYY-MM-DD)[/red]")
            raise typer.Exit(2) from None
    try:
        outcome = run_training(history, until, load_params(), progress=not quiet, scheduler=scheduler)
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
