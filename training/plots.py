"""Evaluation plots (ROC, precision-recall, calibration), SHAP summaries and the fairness plot,
saved as PNG files into a folder that becomes the run's `plots/` artifacts."""

from pathlib import Path

import numpy as np
import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def evaluation_plots(labels: np.ndarray, scores: dict[str, np.ndarray], directory: Path,
                     bins: int = 10) -> list[Path]:
    """ROC, PR and calibration curves of every model on the same test rows."""
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import precision_recall_curve, roc_curve

    plt = _pyplot()
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, ax = plt.subplots(figsize=(6, 5))
    for name, p in scores.items():
        fpr, tpr, _ = roc_curve(labels, p)
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC, test months")
    ax.legend(loc="lower right")
    paths.append(_save(fig, directory / "roc_test.png", plt))

    fig, ax = plt.subplots(figsize=(6, 5))
    for name, p in scores.items():
        precision, recall, _ = precision_recall_curve(labels, p)
        ax.plot(recall, precision, label=name)
    ax.axhline(float(np.mean(labels)), ls=":", c="grey", label="positive rate")
    ax.set(xlabel="Recall", ylabel="Precision", title="Precision-recall, test months")
    ax.legend(loc="lower left")
    paths.append(_save(fig, directory / "pr_test.png", plt))

    fig, ax = plt.subplots(figsize=(6, 5))
    for name, p in scores.items():
        observed, predicted = calibration_curve(labels, np.clip(p, 0, 1), n_bins=bins, strategy="uniform")
        ax.plot(predicted, observed, marker="o", label=name)
    ax.plot([0, 1], [0, 1], ls=":", c="grey", label="perfect")
    ax.set(xlabel="Predicted probability", ylabel="Observed hard-to-fill rate",
           title="Calibration, test months")
    ax.legend(loc="upper left")
    paths.append(_save(fig, directory / "calibration_test.png", plt))
    return paths


def shap_plots(contributions: np.ndarray, model_x: pd.DataFrame, directory: Path,
               top: int = 3) -> tuple[list[Path], pd.DataFrame]:
    """Beeswarm summary and dependence plots for the top features, from TreeSHAP values
    (LightGBM's pred_contrib without its last, base-value column); returns the global
    importance (mean |SHAP|) too."""
    import warnings

    with warnings.catch_warnings():  # shap's colour maps use soon-deprecated matplotlib calls
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap

    plt = _pyplot()
    directory.mkdir(parents=True, exist_ok=True)
    values = contributions[:, :-1]
    importance = pd.DataFrame({"feature": model_x.columns, "mean_abs_shap": np.abs(values).mean(axis=0)})
    importance = importance.sort_values("mean_abs_shap", ascending=False, ignore_index=True)
    # Categories as their integer codes: shap's plots want numbers (missing stays NaN).
    display = model_x.copy()
    for name in display.columns:
        if isinstance(display[name].dtype, pd.CategoricalDtype):
            codes = display[name].cat.codes.astype(float)
            display[name] = codes.where(codes >= 0)
    paths = []
    shap.summary_plot(values, display, show=False, max_display=15, plot_size=(8, 7),
                      rng=np.random.default_rng(0))  # the same plot for the same run
    fig = plt.gcf()
    fig.suptitle("SHAP values (log-odds), test sample")
    paths.append(_save(fig, directory / "shap_beeswarm.png", plt))
    for name in importance["feature"].head(top):
        shap.dependence_plot(name, values, display, interaction_index=None, show=False)
        paths.append(_save(plt.gcf(), directory / f"shap_dependence_{name}.png", plt))
    fig, ax = plt.subplots(figsize=(7, 6))
    head = importance.head(15).iloc[::-1]
    ax.barh(head["feature"], head["mean_abs_shap"])
    ax.set(xlabel="mean |SHAP| (log-odds)", title="Global importance")
    paths.append(_save(fig, directory / "importance.png", plt))
    return paths, importance


def fairness_plot(table: pd.DataFrame, directory: Path) -> Path:
    """Per attribute: share flagged high risk and observed rate by group (small groups hatched)."""
    plt = _pyplot()
    attributes = list(dict.fromkeys(table["attribute"]))
    fig, axes = plt.subplots(len(attributes), 1, figsize=(10, 3.2 * len(attributes)), squeeze=False)
    for ax, attribute in zip(axes[:, 0], attributes, strict=True):
        part = table[table["attribute"] == attribute].head(20)
        x = np.arange(len(part))
        ax.bar(x - 0.2, part["share_flagged"], 0.4, label="flagged high risk",
               hatch=None, color=["#bbb" if s else "#c44" for s in part["small"]])
        ax.bar(x + 0.2, part["observed_rate"], 0.4, label="observed hard-to-fill rate", color="#48a")
        ax.set_xticks(x, [str(g)[:18] for g in part["group"]], rotation=45, ha="right", fontsize=7)
        ax.set_title(f"{attribute} (grey: group smaller than the minimum size)")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, directory / "fairness.png", plt)


def _save(fig, path: Path, plt) -> Path:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
