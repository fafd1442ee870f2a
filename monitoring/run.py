"""Run monitoring over periods: analyse each, save its HTML report, its workspace snapshot and
the summary (JSON), with a progress bar."""

import json
from collections.abc import Iterable
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from monitoring.analysis import ModelInfo, PeriodData, PeriodResult, analyse_period
from monitoring.config import MonitoringParams


def report_dir(reports_dir: Path, source: str) -> Path:
    return Path(reports_dir) / ("backfill" if source == "backfill" else "live")


def run_periods(datas: Iterable[PeriodData], total: int, model: ModelInfo, params: MonitoringParams,
                reports_dir: Path, workspace_dir: Path | None, source: str,
                progress: bool = True) -> list[PeriodResult]:
    from monitoring.workspace import open_project, replace_run

    out = report_dir(reports_dir, source)
    out.mkdir(parents=True, exist_ok=True)
    workspace = project = None
    if workspace_dir is not None:
        workspace, project = open_project(workspace_dir, source)
    results = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  disable=not progress, transient=True) as bar:
        task = bar.add_task("Monitoring periods", total=total)
        for data in datas:
            bar.update(task, description=f"Monitoring {data.period.label}")
            result = analyse_period(data, model, params)
            html = out / f"report_{data.period.label}.html"
            result.snapshot.save_html(str(html))
            result.summary["report"] = str(html)
            if result.drift_snapshot is not None:
                drift_html = out / f"drift_{data.period.label}.html"
                result.drift_snapshot.save_html(str(drift_html))
                result.summary["drift_report"] = str(drift_html)
            if workspace is not None:
                ids = replace_run(workspace, project, [result.snapshot, result.drift_snapshot], data.period.label)
                result.summary["snapshot_id"] = ids[0]
                result.summary["drift_snapshot_id"] = ids[1] if len(ids) > 1 else None
            results.append(result)
            bar.advance(task)
    write_summary(results, out / "summary.json", model)
    return results


def _clean(value):
    """JSON has no NaN: undefined figures are written as null."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_summary(results: list[PeriodResult], path: Path, model: ModelInfo) -> None:
    alerts = [a.model_dump() for r in results for a in r.alerts]
    document = {
        "model": {"name": model.name, "version": model.version, "promised": model.promised},
        "periods": [r.summary for r in results],
        "alerts": alerts,
        "alerting_periods": sorted({a["period"] for a in alerts}),
    }
    Path(path).write_text(json.dumps(_clean(document), indent=2, default=str, allow_nan=False), encoding="utf-8")
