# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The champion model: calibration, errors, explanations, fairness
#
# For the data team and the ethics committee: the model that serves advisers today (the registered
# model version with the alias `champion` in MLflow), looked at on the offers it was tested on.
#
# - how far its probabilities can be trusted (calibration);
# - where it errs: by risk band and by group of offers (region, employer size, sector, contract,
#   offers open to disabled workers);
# - what drives its scores (SHAP summary and dependence plots);
# - the fairness table the promotion gates read;
# - a few offers explained as advisers see them, in French.
#
# Settings are read as the CLI reads them: `HARDTOFILL_TRACKING_URI` (default
# `sqlite:///mlruns/mlflow.db`, relative to the repository) and `HARDTOFILL_MODEL_NAME`; run
# `make train` first. The test offers are the champion's `reference.parquet` artifact: a sample of
# the test months (never seen in training or calibration) with features, audit groups, the
# calibrated probability and the observed label.

# %%
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from features.spec import CATEGORICAL, FEATURE_BY_NAME, FEATURE_NAMES
from hardtofill.notebook import start_notebook
from hardtofill.params import get_params
from training.champion import load_champion
from training.metrics import expected_calibration_error

ROOT, settings = start_notebook()
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm's widget hint, pulled in by mlflow
print(f"repository: {ROOT}\ntracking store: {settings.tracking_uri}")

# %% [markdown]
# ## The champion
# Loaded by alias, with its artifacts (feature specification, calibration, market context, model
# card, risk bands), exactly as serving loads it (`training.champion.load_champion`).

# %%
champion = load_champion("champion")
trees = champion.booster.num_trees()
card_metrics = champion.card.get("metrics", {})
print(f"model '{champion.model_name}' version {champion.version} (run {champion.run_id}): {trees} trees, "
      f"calibration {champion.calibrator.method}")
print(f"risk bands: medium from p = {champion.risk_bands['medium']:.3f}, "
      f"high from p = {champion.risk_bands['high']:.3f}")
evaluation_path = champion.artifacts_dir / "evaluation_table.csv"
if evaluation_path.is_file():  # the test-month comparison training logged: model, baselines, oracle
    display(pd.read_csv(evaluation_path).set_index("model"))

# %%
reference = champion.reference().copy()
labelled = reference[reference["label"].notna()].reset_index(drop=True)
y = labelled["label"].to_numpy(int)
p = labelled["probability"].to_numpy(float)
# The loaded model must give the probabilities training stored for these offers: same trees,
# same categories, same calibration.
contributions = np.asarray(champion.contributions(labelled[list(FEATURE_NAMES)]))
recomputed = champion.probabilities_from_raw(contributions.sum(axis=1))
assert np.allclose(recomputed, p, atol=1e-6), f"probabilities differ by up to {np.abs(recomputed - p).max():.2e}"
print(f"{len(labelled):,} test offers created {labelled['created_at'].min():%Y-%m-%d} to "
      f"{labelled['created_at'].max():%Y-%m-%d}; {y.mean():.1%} hard to fill, mean probability {p.mean():.1%}; "
      "probabilities recomputed from the loaded model match the stored ones")

# %% [markdown]
# ## Calibration
# A probability of 0.7 should mean that seven in ten such offers take more than 30 days to fill.
# Reliability curve over ten bins of equal size (deciles of probability); the expected calibration
# error (ECE) uses ten equal-width bins, as the promotion gate does.

# %%
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score

bins = get_params().calibration.ece_bins
observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
ece = expected_calibration_error(y, p, bins)
print(f"ROC AUC {roc_auc_score(y, p):.3f}, Brier {brier_score_loss(y, p):.3f}, ECE {ece:.3f}")
display(pd.DataFrame({"mean probability": predicted, "observed hard-to-fill rate": observed,
                      "gap": observed - predicted}).round(3))

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
left.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
left.plot(predicted, observed, marker="o", label=f"champion (ECE {ece:.3f})")
for band in ("medium", "high"):
    left.axvline(champion.risk_bands[band], color="tab:red", alpha=0.5, linestyle=":")
left.set(xlabel="predicted probability (decile mean)", ylabel="observed share hard to fill",
         title="Reliability on the test months", xlim=(0, 1), ylim=(0, 1))
left.legend(loc="upper left")
right.hist([p[y == 1], p[y == 0]], bins=40, stacked=True, label=["hard to fill", "filled within 30 days"])
for band in ("medium", "high"):
    right.axvline(champion.risk_bands[band], color="tab:red", linestyle=":")
right.set(xlabel="predicted probability", ylabel="offers", title="Probabilities, risk band thresholds dotted")
right.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Where it errs: by risk band
# Advisers see a band, not a probability. For each band: how many offers, how many were in fact
# hard to fill, and the errors that matter to them: a *false alarm* is a high-risk offer filled
# within 30 days (an adviser's time spent for nothing), a *miss* a low-risk offer that was not.

# %%
labelled["band"] = champion.risk_band(p)
bands = labelled.groupby("band").agg(offers=("label", "size"), mean_probability=("probability", "mean"),
                                     observed_rate=("label", "mean"))
bands = bands.reindex(["low", "medium", "high"])
bands["share of offers"] = bands["offers"] / bands["offers"].sum()
bands["share of all hard offers"] = labelled.groupby("band")["label"].sum().reindex(bands.index) / y.sum()
bands["false alarms (filled in 30 days)"] = np.where(bands.index == "high", 1 - bands["observed_rate"], np.nan)
bands["misses (hard to fill)"] = np.where(bands.index == "low", bands["observed_rate"], np.nan)
display(bands.round(3))

ax = bands[["mean_probability", "observed_rate"]].plot.bar(rot=0, title="Risk bands: predicted vs observed")
ax.set_ylabel("share hard to fill")
ax.set_ylim(0, 1)
plt.show()

# %% [markdown]
# ## Where it errs: by group of offers
# Per group of each audit attribute (attributes of offers, never of people): ROC AUC (how well it
# ranks offers within the group), Brier score and ECE (how far probabilities are from outcomes),
# and the calibration gap (observed rate minus mean probability: positive means the model
# under-estimates the group's difficulty). Groups under `fairness.min_group_size` offers are marked
# small: their figures are noisy.

# %%
from fairlearn.metrics import MetricFrame

fairness_params = get_params().fairness
min_size = fairness_params.min_group_size
AUDIT = [c for c in labelled.columns if c.startswith("audit_")]


def roc_auc_or_nan(t, s) -> float:
    return roc_auc_score(t, s) if len(np.unique(t)) == 2 else np.nan


errors = []
for column in AUDIT:
    frame = MetricFrame(
        metrics={"offers": lambda t, s: len(t), "observed_rate": lambda t, s: np.mean(t),
                 "mean_probability": lambda t, s: np.mean(s), "roc_auc": roc_auc_or_nan,
                 "brier": brier_score_loss, "ece": lambda t, s: expected_calibration_error(t, s, bins)},
        y_true=y, y_pred=p, sensitive_features=labelled[column].astype(str).rename("group"))
    table = frame.by_group.reset_index()
    table.insert(0, "attribute", column.removeprefix("audit_"))
    errors.append(table)
errors = pd.concat(errors, ignore_index=True)
errors["calibration_gap"] = errors["observed_rate"] - errors["mean_probability"]
errors["small"] = errors["offers"] < min_size
errors = errors.sort_values(["attribute", "offers"], ascending=[True, False], ignore_index=True)
display(errors.round(3))

large = errors[~errors["small"]]
fig, axes = plt.subplots(1, 2, figsize=(13, 5))
for ax, attribute in zip(axes, ["region", "sector"], strict=True):
    part = large[large["attribute"] == attribute].sort_values("calibration_gap")
    ax.barh(part["group"].astype(str), part["calibration_gap"],
            color=np.where(part["calibration_gap"] > 0, "tab:red", "tab:blue"))
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set(title=f"Calibration gap by {attribute} (observed - predicted)", xlabel="share of offers")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## What drives the scores: SHAP
# Exact TreeSHAP contributions from LightGBM (`champion.contributions`, the same call serving makes),
# in log-odds: for each offer they add up, with the base value, to its raw score. Categories are
# shown by their code order in the colour scale, which has no meaning for them: their effects are
# shown per category further down. Plotted on a sample of 2,000 test offers.

# %%
import shap

assert np.allclose(contributions.sum(axis=1),
                   champion.booster.predict(champion.model_frame(labelled), raw_score=True), atol=1e-9)
rng = np.random.default_rng(42)
rows = np.sort(rng.choice(len(labelled), size=min(2000, len(labelled)), replace=False))
values = contributions[rows, :-1]
model_frame = champion.model_frame(labelled.iloc[rows])
# The plots colour points by value: categories as their codes (missing as NaN, drawn grey).
numeric_frame = pd.DataFrame({name: (model_frame[name].cat.codes.replace(-1, np.nan).astype(float)
                                     if name in CATEGORICAL else model_frame[name].astype(float))
                              for name in FEATURE_NAMES}, index=model_frame.index)
importance = pd.DataFrame({"mean |SHAP| (log-odds)": np.abs(contributions[:, :-1]).mean(axis=0),
                           "description": [FEATURE_BY_NAME[n].description for n in FEATURE_NAMES]},
                          index=list(FEATURE_NAMES)).sort_values("mean |SHAP| (log-odds)", ascending=False)
print(f"base value {contributions[0, -1]:+.3f} log-odds, i.e. p = "
      f"{champion.probabilities_from_raw(np.array([contributions[0, -1]]))[0]:.3f} for an average offer")
display(importance.head(15))

shap.summary_plot(values, numeric_frame, feature_names=list(FEATURE_NAMES), max_display=15, show=False,
                  plot_size=(10, 7), rng=np.random.default_rng(0))
plt.title("SHAP summary (beeswarm): each dot an offer")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Dependence plots
# The numeric features with the largest mean contribution: how the contribution moves with the
# value (salary against the market should only lower the risk as it rises: it is constrained
# monotone in training).

# %%
numeric_top = [name for name in importance.index if name not in CATEGORICAL][:3]
fig, axes = plt.subplots(1, len(numeric_top), figsize=(5 * len(numeric_top), 4))
for ax, name in zip(np.atleast_1d(axes), numeric_top, strict=True):
    shap.dependence_plot(name, values, numeric_frame, feature_names=list(FEATURE_NAMES), interaction_index=None,
                         ax=ax, show=False, alpha=0.4)
    ax.set_title(FEATURE_BY_NAME[name].description, fontsize=10)
plt.tight_layout()
plt.show()

if "salary_vs_market" in FEATURE_NAMES:
    column = list(FEATURE_NAMES).index("salary_vs_market")
    shown = labelled["salary_vs_market"].notna().to_numpy()
    fig, ax = plt.subplots()
    ax.scatter(labelled.loc[shown, "salary_vs_market"], contributions[shown, column], s=6, alpha=0.4)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set(xlabel="salary offered / market median for the occupation and region", ylabel="SHAP (log-odds)",
           title="Salary against the market", xlim=(0.6, 1.6))
    plt.show()

# %% [markdown]
# ### Categorical features
# Mean contribution per category for the two categorical features that weigh most (the 15 most
# frequent categories), with the observed hard-to-fill rate beside it.

# %%
categorical_top = [name for name in importance.index if name in CATEGORICAL][:2]
fig, axes = plt.subplots(1, len(categorical_top), figsize=(13, 5))
for ax, name in zip(np.atleast_1d(axes), categorical_top, strict=True):
    column = list(FEATURE_NAMES).index(name)
    per = pd.DataFrame({"category": labelled[name].fillna("missing").astype(str),
                        "shap": contributions[:, column], "label": y})
    top = per["category"].value_counts().head(15).index
    summary = per[per["category"].isin(top)].groupby("category").agg(
        offers=("shap", "size"), mean_shap=("shap", "mean"), observed=("label", "mean")).sort_values("mean_shap")
    ax.barh(summary.index, summary["mean_shap"], color=np.where(summary["mean_shap"] > 0, "tab:red", "tab:blue"))
    for i, (_, row) in enumerate(summary.iterrows()):
        ax.annotate(f"{row['observed']:.0%} hard, n={row['offers']:.0f}", (0, i), fontsize=7,
                    xytext=(4 if row["mean_shap"] <= 0 else -4, 0), textcoords="offset points", va="center",
                    ha="left" if row["mean_shap"] <= 0 else "right")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set(title=f"Mean SHAP by {FEATURE_BY_NAME[name].description}", xlabel="log-odds")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The fairness table
# The audit the promotion gates read (`training.fairness`, fairlearn `MetricFrame`): per group, the
# share of offers flagged high risk, the true and false positive rates of that flag, observed and
# predicted rates and the calibration gap; then, per attribute, the largest gaps between groups
# large enough to measure, against the thresholds of `params.yaml` (`fairness`). Computed here on
# the reference sample; training logged the same table on all test offers (`fairness_table.csv`).
# A gap is a question for the committee, not an automatic verdict: groups differ in their true
# difficulty (a region with more hard offers should have more flagged).

# %%
from training.fairness import fairness

audited = labelled.assign(risk=champion.risk_band(labelled["probability"]))
fairness_table, fairness_gaps = fairness(audited, audited, min_size, bins)
display(fairness_table.round(3))
thresholds = {"equalized_odds_difference": fairness_params.max_equalized_odds_difference,
              "calibration_gap": fairness_params.max_calibration_gap}
gaps = pd.DataFrame(fairness_gaps).T
for gap, limit in thresholds.items():
    gaps[f"{gap} limit"] = limit
    gaps[f"{gap} within"] = gaps[gap].isna() | (gaps[gap].astype(float) <= limit)
display(gaps)
logged = champion.artifacts_dir / "fairness_table.csv"
if logged.is_file():
    print(f"training's table on all test offers: {logged} ({len(pd.read_csv(logged))} rows)")

fig, axes = plt.subplots(1, 2, figsize=(13, 5))
for ax, attribute in zip(axes, ["region", "employer_size_band"], strict=True):
    part = fairness_table[(fairness_table["attribute"] == attribute) & ~fairness_table["small"]]
    part = part.sort_values("observed_rate")
    positions = np.arange(len(part))
    ax.barh(positions - 0.2, part["tpr"], height=0.4,
            label="true positive rate (hard offers flagged)")
    ax.barh(positions + 0.2, part["fpr"], height=0.4,
            label="false positive rate (filled offers flagged)")
    ax.set_yticks(positions, part["group"].astype(str))
    ax.set(title=f"High-risk flag by {attribute} (ordered by observed rate)", xlabel="rate")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize="small")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## A few offers, as advisers see them
# One test offer from each risk band: its probability, its band and the reasons in plain French,
# the sentences the advisers' screen shows (`serving.explain.factors`, from the offer's SHAP
# contributions and the market salary of its occupation), with what happened to the offer.

# %%
try:
    from serving import explain
except ImportError:  # serving not installed: the features' own French descriptions will do
    explain = None

market = champion.context.lookup(
    labelled[["rome_code", "rome_subdomain", "department", "region", "created_at"]])["salary_market"]
examples = [int((labelled["probability"] - labelled.loc[labelled["band"] == band, "probability"].median()).abs()
                .where(labelled["band"] == band).idxmin()) for band in ("high", "medium", "low")]
for i in examples:
    row = labelled.loc[i]
    features = row[list(FEATURE_NAMES)].to_dict()
    outcome = "not filled within 30 days" if row["label"] == 1 else "filled within 30 days"
    print(f"offer {row['offer_id']} ({row['rome_code']}, {row['region']}, {row['contract_type']}), "
          f"created {row['created_at']:%Y-%m-%d}: probability {row['probability']:.0%}, risk {row['band']} "
          f"-> in fact {outcome}")
    if explain is not None:
        reasons = explain.factors(list(FEATURE_NAMES), contributions[i, :-1], features, market.iat[i], top=5)
        for reason in reasons:
            print(f"   {reason['contribution']:+.2f}  {reason['sentence']}")
    else:
        order = np.argsort(-np.abs(contributions[i, :-1]))[:5]
        for j in order:
            name = FEATURE_NAMES[j]
            effect = "augmente le risque" if contributions[i, j] > 0 else "diminue le risque"
            print(f"   {contributions[i, j]:+.2f}  {FEATURE_BY_NAME[name].description} ({features[name]}) : {effect}")
    print()

# %% [markdown]
# ### Real offers, through the serving pipeline
# Three offers of the public API sample scored by the same code as the API's `POST /score`
# (`serving.scoring.Scorer`): probability, band, reasons and the changes the recruiter could make,
# each with the probability it would give. Skipped when the sample (`HARDTOFILL_SAMPLE_PATH`,
# default `../shared/data/offres_api_v2_sample.json`) or the serving package is missing.

# %%
import json

DEFAULT_SAMPLE = ROOT.parent / "shared" / "data" / "offres_api_v2_sample.json"
sample_path = Path(os.environ.get("HARDTOFILL_SAMPLE_PATH", DEFAULT_SAMPLE))
try:
    from serving.scoring import Scorer
except ImportError:
    Scorer = None
if Scorer is None or not sample_path.is_file():
    print(f"skipped: serving package {'missing' if Scorer is None else 'present'}, sample {sample_path} "
          f"{'found' if sample_path.is_file() else 'not found'}")
else:
    raws = json.loads(sample_path.read_text("utf-8"))
    picked = [raws[i] for i in (0, len(raws) // 2, len(raws) - 1)]
    for result in Scorer(champion).score(picked).results:
        print(f"« {result['title']} » ({result['offer_id']}): probabilité {result['probability']:.0%}, "
              f"risque {result['risk_label']}")
        for factor in result["factors"]:
            print(f"   {factor['contribution']:+.2f}  {factor['sentence']}")
        for advice in result["recommendations"]:
            print(f"   conseil : {advice['sentence']} -> {advice['probability']:.0%}")
        print()
