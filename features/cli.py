"""Commands of the features package: `hardtofill generate | ingest`."""

from datetime import date
from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True, soft_wrap=True)  # whole lines: messages are grepped in logs


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


def ingest(
    source: Path = typer.Argument(..., help="API v2 JSON lines (.gz ok): generated records or bare offers."),
    out: Path = typer.Option(None, "--out", help="Parquet folder, one sub-folder per month "
                             "[default: the source's name with .parquet]"),
    replace: bool = typer.Option(False, "--replace", help="Rebuild the folder if it exists."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress display."),
) -> None:
    """Validate API v2 JSON lines into a Parquet history partitioned by month, personal data dropped.

    Bad lines are reported with their number (all of them in _rejected.jsonl in the folder) and
    skipped; the others are kept. Exit 0 when every line was kept, 1 when some were rejected,
    2 when nothing could be ingested (then no folder is written)."""
    from features.columnar import REJECTED, IngestError
    from features.columnar import ingest as ingest_lines

    out = out or source.with_name(source.name.removesuffix(".gz").removesuffix(".jsonl") + ".parquet")
    try:
        report = ingest_lines(source, out, replace=replace, progress=not quiet)
    except IngestError as error:
        console.print(f"[red]ingest: {error}[/red]")
        raise typer.Exit(2) from None
    for rejection in report.first_rejections:
        console.print(f"line {rejection['line']}: {rejection['error']}", style="yellow", markup=False)
    if report.rejected > len(report.first_rejections):
        console.print(f"... {report.rejected - len(report.first_rejections):,} more in {out / REJECTED}")
    console.print(f"Ingested {report.kept:,} of {report.lines:,} lines into {out} "
                  f"({len(report.months)} months, {report.rejected:,} rejected)")
    if report.rejected:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(generate)
    app.command()(ingest)
