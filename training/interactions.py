"""Which of the interactions documented by labour economics the model recovers, and whether its
advice moves in the documented direction (features/generator/figures.yaml has the sources):

- salary x skill: a salary above the local market shortens the time to fill for low-skilled
  offers much more than for managers (CEPR DP18365, IZA DP 17211);
- requirements x local tightness: required experience hurts more where the occupation is tight
  in the area (Modestino, Shoag and Ballance);
- size x contract: CDI hires harder, CDD hires easier in large establishments (DARES OFER 2005);
- employer history: the same employer's offers share a tendency (Davis, Faberman and Haltiwanger).

Read from TreeSHAP values (dependence plots coloured by the other factor, logged as the run's
`plots/`) and from what-if scores: the same offers with a 10 % higher salary. Metrics are logged
with the run and summarised in the model card.
"""

from pathlib import Path

import numpy as np
import pandas as pd

LOW_SKILLED = ("1", "2", "5")  # manoeuvre, ouvrier spécialisé, employé non qualifié
MANAGERS = ("9",)  # cadre
SALARY_COLUMNS = ("salary_yearly_low", "salary_yearly_high", "salary_vs_market")
RAISE = 1.10
EMPLOYER_COLUMNS = ("ctx_employer_offers", "ctx_employer_matured", "ctx_employer_hard_rate")


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 20 or np.ptp(x[keep]) == 0:
        return float("nan")
    return float(np.polyfit(x[keep], y[keep], 1)[0])


def salary_raise_gain(booster, calibrator, model_x: pd.DataFrame, codes: tuple[str, ...]) -> tuple[float, int]:
    """Mean drop of the calibrated probability when offers of these qualifications that show a
    salary raise it by 10 % (what the advice would tell a recruiter); and how many offers."""
    rows = model_x[model_x["qualification_code"].astype(str).isin(codes) & model_x["salary_vs_market"].notna()]
    if rows.empty:
        return float("nan"), 0
    raised = rows.copy()
    for column in SALARY_COLUMNS:
        raised[column] = raised[column] * RAISE
    before = calibrator.transform(booster.predict(rows, raw_score=True))
    after = calibrator.transform(booster.predict(raised, raw_score=True))
    return float(np.mean(before - after)), len(rows)


def interaction_analysis(booster, calibrator, model_x: pd.DataFrame, contributions: np.ndarray,
                         directory: Path, advice_x: pd.DataFrame | None = None) -> dict[str, float]:
    """Dependence plots and metrics on a sample of test offers (`contributions`: LightGBM
    pred_contrib of `model_x`, one column per feature plus the bias); the what-if salary raise on
    `advice_x` (all test offers: few show both a salary and a manager's qualification)."""
    from training.plots import _pyplot, _save

    shap = pd.DataFrame(contributions[:, :-1], columns=list(model_x.columns), index=model_x.index)
    qualification = model_x["qualification_code"].astype(str)
    metrics: dict[str, float] = {}
    plt = _pyplot()
    directory.mkdir(parents=True, exist_ok=True)

    # Salary x skill: slope of the salary's SHAP value against log(salary / market), by skill group.
    fig, ax = plt.subplots(figsize=(6.5, 5))
    ratio = np.log(model_x["salary_vs_market"].astype(float))
    salary_shap = shap["salary_vs_market"] + shap["salary_yearly_low"] + shap["salary_yearly_high"]
    for name, codes, colour in (("low-skilled (1, 2, 5)", LOW_SKILLED, "tab:red"),
                                ("skilled (3, 4, 6)", ("3", "4", "6"), "tab:orange"),
                                ("technicians (7, 8)", ("7", "8"), "tab:green"),
                                ("managers (9)", MANAGERS, "tab:blue")):
        rows = qualification.isin(codes) & ratio.notna()
        ax.scatter(ratio[rows], salary_shap[rows], s=6, alpha=0.5, c=colour, label=name)
        key = name.split(" ")[0]
        metrics[f"interaction_salary_shap_slope_{key}"] = _slope(ratio[rows].to_numpy(), salary_shap[rows].to_numpy())
    ax.axhline(0, c="grey", lw=0.5)
    ax.set(xlabel="log(offered salary / local market)", ylabel="SHAP of the salary features (log-odds)",
           title="Salary x qualification: does pay matter more for low-skilled offers?")
    ax.legend(loc="upper right", fontsize=8)
    _save(fig, directory / "interaction_salary_x_qualification.png", plt)

    # Requirements x local tightness: SHAP of required experience by the area's recent hard rate.
    tightness = model_x["ctx_hard_rate_occupation_department"].astype(float)
    tight = tightness > tightness.median()
    experience = model_x["experience_code"].astype(str)
    exp_shap = shap["experience_code"] + shap["experience_months"]
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for code, colour in (("E", "tab:red"), ("S", "tab:orange"), ("D", "tab:green")):
        rows = experience.eq(code)
        ax.scatter(tightness[rows], exp_shap[rows], s=6, alpha=0.5, c=colour, label=f"experience {code}")
    ax.set(xlabel="recent hard-to-fill rate of the occupation in the department",
           ylabel="SHAP of experience asked (log-odds)", title="Requirements x local tightness")
    ax.legend(loc="upper left", fontsize=8)
    _save(fig, directory / "interaction_experience_x_tightness.png", plt)
    required = experience.eq("E")
    for label, area in (("tight", tight), ("slack", ~tight)):
        metrics[f"interaction_experience_required_shap_{label}"] = float(
            exp_shap[required & area].mean() - exp_shap[~required & area].mean())

    # Size x contract: SHAP of the contract type by establishment size.
    large = model_x["employer_size_band"].astype(str).isin(["100-249", "250+"])
    small = model_x["employer_size_band"].notna() & ~large
    contract = model_x["contract_type"].astype(str)
    contract_size = shap["contract_type"] + shap["employer_size_band"]
    for kind in ("CDI", "CDD"):
        metrics[f"interaction_{kind.lower()}_large_minus_small_shap"] = float(
            contract_size[contract.eq(kind) & large].mean() - contract_size[contract.eq(kind) & small].mean())

    # Employer history (features.context, employer level): what the employer's own past adds, for
    # offers whose employer had matured outcomes, and the slope against its hard rate's excess.
    employer_columns = [c for c in EMPLOYER_COLUMNS if c in shap.columns]
    if employer_columns:
        employer_shap = shap[employer_columns].sum(axis=1)
        known = model_x["ctx_employer_matured"].astype(float) > 0
        excess = (model_x["ctx_employer_hard_rate"].astype(float)
                  - model_x["ctx_hard_rate_occupation_department"].astype(float))
        key = "interaction_employer_history_"
        metrics[f"{key}share_known"] = float(known.mean())
        metrics[f"{key}mean_abs_shap_known"] = float(employer_shap[known].abs().mean())
        metrics[f"{key}shap_slope"] = _slope(excess[known].to_numpy(), employer_shap[known].to_numpy())

    # Advice direction: the same offers, 10 % better paid.
    for key, codes in (("low", LOW_SKILLED), ("managers", MANAGERS)):
        gain, count = salary_raise_gain(booster, calibrator, model_x if advice_x is None else advice_x, codes)
        metrics[f"advice_salary_raise_gain_{key}"] = gain
        metrics[f"advice_salary_raise_offers_{key}"] = float(count)
    return metrics


def card_lines(metrics: dict[str, float]) -> list[str]:
    """The model card's section on the interactions (markdown lines)."""
    if "advice_salary_raise_gain_low" not in metrics:
        return []

    def f(name: str) -> str:
        value = metrics.get(name, float("nan"))
        return "n/a" if not np.isfinite(value) else f"{value:+.3f}"

    low, managers = metrics["advice_salary_raise_gain_low"], metrics["advice_salary_raise_gain_managers"]
    direction = "as documented" if low > managers else "NOT as documented"
    return [
        "## Interactions the model recovers (SHAP dependence plots in the run's plots/)",
        f"- Salary x skill: slope of the salary's SHAP value per unit of log(salary / market): low-skilled "
        f"{f('interaction_salary_shap_slope_low-skilled')}, managers {f('interaction_salary_shap_slope_managers')} "
        "(documented: pay matters for low-skilled offers, barely for managers).",
        f"- Advice: a 10 % salary raise lowers the probability by {low:.3f} on low-skilled offers and by "
        f"{managers:.3f} on managers' offers: {direction}.",
        f"- Requirements x tightness: required experience adds {f('interaction_experience_required_shap_tight')} "
        f"log-odds where the occupation is tight in the department, {f('interaction_experience_required_shap_slack')} "
        "where it is slack (documented: requirements hurt more in tight markets).",
        f"- Size x contract: large minus small establishments, CDI {f('interaction_cdi_large_minus_small_shap')}, "
        f"CDD {f('interaction_cdd_large_minus_small_shap')} log-odds (documented: CDI harder, CDD easier in large "
        "ones).",
        f"- Employer history: {metrics.get('interaction_employer_history_share_known', float('nan')):.0%} of offers "
        "come from an employer with matured outcomes; for them the employer features move the score by "
        f"{f('interaction_employer_history_mean_abs_shap_known')} log-odds on average, with slope "
        f"{f('interaction_employer_history_shap_slope')} per unit of the employer's hard rate above the market's "
        "(the same employer's offers share a tendency: Davis, Faberman and Haltiwanger).", ""]
