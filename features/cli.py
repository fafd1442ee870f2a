"""Commands of the features package: `hardtofill generate`."""

from datetime import date
from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)


def generate(
    offers: int = typer.Option(300_000, "--offers", help="Number of offers."),
    months: int = typer.Option(24, "--months", help="Months of history, from --start."),
    seed: int = typer.Option(42, "--seed", help="Same seed, same bytes."),
    out: Path = typer.Option(None, "--out", help="JSON lines, gzip when it ends in .gz "
                             "[default: HARDTOFILL_HISTORY_PATH]"),
    start: str = typer.Option("2023-01-01", "--start", help="First month (YYYY-MM-DD, day ignored)."),
    drift: str = typer.Option(None, "--drift",
                              help="Drift scenario: tension_shock, salary_shift, new_occupations or rome4."),
    drift_from: int = typer.Option(None, "--drift-from", help="Month index (0-based) the drift starts."),
) -> None:
    """Generate a realistic offer history in the API v2 shape, with lifecycles and the oracle."""
    from features.generator.simulate import GeneratorConfig
    from features.generator.write import write_history
    from hardtofill.settings import get_settings

    try:
        first = date.fromisoformat(start).replace(day=1)
    except ValueError:
        console.print(f"[red]--start: {start!r} is not a date (YYYY-MM-DD)[/red]")
        raise typer.Exit(2) from None
    if drift is not None and drift_from is None:
        drift_from = months // 2
    try:
        config = GeneratorConfig(offers=offers, months=months, seed=seed, start=first,
                                 drift=drift, drift_from=drift_from)
    except ValueError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    from features.generator.reference import ReferenceDataMissing

    path = out or get_settings().history_path
    try:
        written = write_history(config, path)
    except ReferenceDataMissing as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    console.print(f"Wrote {written:,} offers over {months} months to {path}"
                  + (f" (drift {drift} from month {drift_from})" if drift else ""))


def register(app: typer.Typer) -> None:
    app.command()(generate)
