"""`hardtofill monitor`: reports (drift, quality on matured outcomes, fairness, feedback) for each
period, saved as HTML and as Evidently workspace snapshots, and alerts. Exit code 3 when a
threshold is crossed, 2 on bad input, 0 otherwise."""

from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)
ALERT_EXIT = 3
BAD_INPUT_EXIT = 2


def _fail(message: str) -> None:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(BAD_INPUT_EXIT)


def monitor(
    backfill: bool = typer.Option(False, "--backfill", help="Replay a generated history month by month as if "
                                  "the service had scored it, outcomes appearing 30 days later."),
    history: Path = typer.Option(None, "--history", help="History for --backfill [default: HARDTOFILL_HISTORY_PATH]"),
    period: str = typer.Option(None, "--period", help="month or week [default: params.yaml monitoring.period]"),
    first: str = typer.Option(None, "--from", help="First period (YYYY-MM). Backfill default: the month after "
                              "the champion's reference; live default: periods ended within the last 30 days "
                              "plus one period."),
    alias: str = typer.Option("champion", "--alias", help="Model alias to monitor."),
    workspace: bool = typer.Option(True, "--workspace/--no-workspace", help="Also add snapshots to the "
                                   "Evidently workspace (HARDTOFILL_WORKSPACE_DIR)."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Monitoring reports and alerts (drift, quality on matured outcomes, fairness, feedback)."""
    import pandas as pd

    from features.labels import HORIZON_DAYS
    from hardtofill.params import ParamsError
    from hardtofill.settings import get_settings
    from monitoring.config import load_monitoring_params
    from monitoring.periods import parse_month, period_start, periods_between

    settings = get_settings()
    try:
        params = load_monitoring_params(settings.params_path)
    except ParamsError as error:
        _fail(str(error))
    kind = period or params.period
    if kind not in ("month", "week"):
        _fail(f"--period: must be 'month' or 'week', not {kind!r}")
    start = None
    if first is not None:
        try:
            start = parse_month(first)
        except ValueError as error:
            _fail(str(error))
    if backfill and history is not None and not Path(history).exists():
        _fail(f"--history: {history} not found (generate one with `hardtofill generate --out {history}`)")

    from training.champion import ChampionUnavailable, load_champion

    try:
        champion = load_champion(alias=alias)
    except ChampionUnavailable as error:
        _fail(f"no model to monitor: {error}")
    model = model_info(champion, params.reference_rows)

    if backfill:
        from features.ingest import read_history
        from monitoring.sources import backfill as replay
        from training.data import TRAINING_COLUMNS

        path = Path(history or settings.history_path)
        if not path.exists():
            _fail(f"--history: {path} not found (run `make data` or pass --history)")
        try:
            replayed = read_history(path, progress=progress, columns=TRAINING_COLUMNS)
        except ValueError as error:
            _fail(str(error))
        if start is None:
            start = period_start(model.reference["created_at"].max(), "month") + pd.DateOffset(months=1) \
                if "created_at" in model.reference else replayed.offers["created_at"].min()
        periods = periods_between(start, replayed.extracted_at, kind)
        if not periods:
            _fail(f"no whole {kind} between {start.date()} and the history's extraction "
                  f"({replayed.extracted_at.date()}): pass an earlier --from")
        datas = replay(replayed, champion, periods)
        source = "backfill"
    else:
        from monitoring.sources import from_store
        from serving.store import PredictionStore

        now = pd.Timestamp.now(tz="UTC")
        if start is None:
            start = now - pd.Timedelta(days=HORIZON_DAYS) - pd.Timedelta(days=31 if kind == "month" else 7)
        periods = periods_between(start, now, kind)
        if not periods:
            _fail(f"no whole {kind} between {pd.Timestamp(start).date()} and now: pass an earlier --from")
        store = PredictionStore(settings.store_url)
        if store.scores(periods[0].start, periods[-1].end, limit=1).empty:
            _fail(f"no scored offer in the prediction store between {periods[0].start.date()} and "
                  f"{periods[-1].end.date()}: is the service running (`make serve`)? Or try --backfill")
        datas = from_store(store, periods, now)
        source = "store"

    from monitoring.console import print_summary
    from monitoring.run import report_dir, run_periods

    results = run_periods(datas, len(periods), model, params, settings.reports_dir,
                          settings.workspace_dir if workspace else None, source, progress=progress)
    print_summary(console, results, source, str(report_dir(settings.reports_dir, source)),
                  str(settings.workspace_dir) if workspace else None)
    if any(result.alerts for result in results):
        raise typer.Exit(ALERT_EXIT)


def model_info(champion, reference_rows: int):
    from monitoring.analysis import ModelInfo
    from monitoring.quality import promised

    reference = champion.reference()
    if len(reference) > reference_rows:
        reference = reference.sample(reference_rows, random_state=0)
    return ModelInfo(name=champion.model_name, version=champion.version, reference=reference.reset_index(drop=True),
                     risk_bands=champion.risk_bands, promised=promised(champion.card),
                     known_occupations=tuple(champion.categories.get("rome_code", ())))


def register(app: typer.Typer) -> None:
    app.command()(monitor)
