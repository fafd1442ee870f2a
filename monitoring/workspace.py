"""The Evidently workspace: one project per source (live store, backfill), its dashboard panels
created in code, and one snapshot per period (a period reported again replaces its snapshot)."""

from pathlib import Path

from monitoring.fairness import ATTRIBUTES
from training.risk_bands import RISK_BANDS

PROJECTS = {"store": "hardtofill: live monitoring", "backfill": "hardtofill: backfill"}
VALUE = "MonitoringValue"


def _line(title: str, series: list[tuple[str, dict]], description: str | None = None, size: str = "half"):
    from evidently.sdk.models import PanelMetric
    from evidently.sdk.panels import line_plot_panel

    return line_plot_panel(title=title, description=description, size=size,
                           values=[PanelMetric(legend=legend, metric=metric, metric_labels=labels)
                                   for legend, (metric, labels) in series])


def dashboard_panels() -> list[tuple[str, object]]:
    """(tab, panel) pairs: every figure of the period reports as a line over time."""
    def ours(name, **labels):
        return (VALUE, {"name": name, **labels})

    panels = [
        ("Alerts", _line("Alerts crossed per period", [("alerts", ours("alerts"))], size="full")),
        ("Drift", _line("Share of drifted features", [("drift share", ours("drift_share"))],
                        "Evidently per-feature drift (distances), features drifted / features watched")),
        ("Drift", _line("Drift of the predicted probability", [("probability", ours("probability_drift"))],
                        "Wasserstein distance (normed) to the reference")),
        ("Drift", _line("Share of offers flagged high risk",
                        [("this period", ours("high_risk_share")),
                         ("reference", ours("reference_high_risk_share"))])),
        ("Drift", _line("Offers scored", [("offers", ours("offers_scored"))])),
        ("Quality", _line("ROC AUC on matured outcomes", [("observed", ours("roc_auc")),
                                                          ("model card", ours("promised_roc_auc"))])),
        ("Quality", _line("Calibration error (ECE)", [("observed", ours("ece")),
                                                      ("model card", ours("promised_ece"))])),
        ("Quality", _line("Precision and recall at advisers' capacity",
                          [("precision", ours("precision_at_capacity")),
                           ("recall", ours("recall_at_capacity")),
                           ("precision (card)", ours("promised_precision_at_capacity")),
                           ("recall (card)", ours("promised_recall_at_capacity"))])),
        ("Quality", _line("Matured outcomes", [("offers", ours("matured_offers"))])),
        ("Feedback", _line("Advisers' disagreement rate by band seen",
                           [(band, ours("disagreement_rate", group=band)) for band in RISK_BANDS],
                           size="full")),
    ]
    for attribute in ATTRIBUTES:
        panels.append(("Fairness", _line(f"Largest gaps between {attribute} groups",
                                         [("equalized odds difference",
                                           ours("equalized_odds_difference", attribute=attribute)),
                                          ("calibration gap", ours("calibration_gap", attribute=attribute)),
                                          ("share flagged difference",
                                           ours("share_flagged_difference", attribute=attribute))])))
        for name, title in (("group_tpr", "true positive rate"), ("group_calibration_gap", "calibration gap"),
                            ("group_share_flagged", "share flagged high")):
            panels.append((f"By {attribute}", _line(f"{title.capitalize()} by {attribute}",
                                                    [(None, ours(name, attribute=attribute))])))
    return panels


def open_project(workspace_dir: Path, source: str):
    """The workspace and the source's project, created with its dashboard when missing."""
    from evidently.ui.workspace import Workspace

    workspace_dir = Path(workspace_dir)
    workspace_dir.mkdir(parents=True, exist_ok=True)
    workspace = Workspace(str(workspace_dir))
    name = PROJECTS[source]
    found = workspace.search_project(name)
    if found:
        return workspace, found[0]
    project = workspace.create_project(name, description="Drift, quality on matured outcomes, fairness by "
                                                         "group and advisers' feedback, one snapshot per period.")
    for tab, panel in dashboard_panels():
        project.dashboard.add_panel(panel, tab=tab)
    return workspace, project


def replace_run(workspace, project, snapshots: list, period_label: str) -> list[str]:
    """Add the period's snapshots (its report, then its drift by feature when judged), removing
    earlier ones of the same period."""
    for run_id in workspace.list_runs(project.id):
        run = workspace.get_run(project.id, run_id)
        if run is not None and run.metadata.get("period") == period_label:
            workspace.delete_run(project.id, run_id)
    return [str(workspace.add_run(project.id, snapshot).id) for snapshot in snapshots if snapshot is not None]
