"""The summary on the console (rich): one line per period, then the alerts and what to do."""

from rich.console import Console
from rich.table import Table


def _f(value, fmt="{:.3f}") -> str:
    return "–" if value is None or value != value else fmt.format(value)


def print_summary(console: Console, results, source: str, reports: str, workspace: str | None) -> None:
    table = Table(title=f"Monitoring ({source})", show_lines=False)
    for column in ("period", "offers", "drifted", "p drift", "high risk (ref)", "matured", "AUC (card)",
                   "ECE", "worst fairness gap", "alerts"):
        table.add_column(column, justify="right" if column not in ("period", "worst fairness gap") else "left")
    for result in results:
        s = result.summary
        d, q, promised = s["drift"], s["quality"], s["promised"]
        worst = max(((a, g) for a, g in s["fairness"].items() if g.get("calibration_gap") is not None),
                    key=lambda item: item[1]["calibration_gap"], default=None)
        worst_text = f"calib {worst[1]['calibration_gap']:.2f} {worst[0]}={worst[1]['calibration_gap_group']}" \
            if worst else "–"
        table.add_row(
            s["period"], f"{s['offers']:,}", _f(d.get("share"), "{:.0%}"), _f(d.get("probability")),
            f"{_f(d.get('high_risk_share'), '{:.1%}')} ({_f(d.get('reference_high_risk_share'), '{:.1%}')})",
            f"{q.get('matured_offers') or 0:,.0f}", f"{_f(q.get('roc_auc'))} ({_f(promised.get('roc_auc'))})",
            _f(q.get("ece")), worst_text,
            f"[red]{len(result.alerts)}[/red]" if result.alerts else "[green]0[/green]")
    console.print(table)
    alerts = [a for r in results for a in r.alerts]
    if alerts:
        crossed = Table(title="Alerts: thresholds crossed (params.yaml, monitoring.alerts)")
        for column in ("period", "alert", "value", "threshold", "what it means", "what to do"):
            crossed.add_column(column, overflow="fold")
        for a in alerts:
            crossed.add_row(a.period, a.name, f"{a.value:.3f}", f"{a.threshold:.3f}", a.message, a.action)
        console.print(crossed)
    else:
        console.print("[green]No alert: every figure is within its threshold.[/green]")
    console.print(f"HTML reports and summary.json in {reports}"
                  + (f"; workspace {workspace} (`make monitor-ui`)" if workspace else ""))
