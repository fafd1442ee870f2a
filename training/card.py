"""The model card (Model Cards for Model Reporting, Mitchell et al. 2019), as JSON and Markdown,
with the four items French law asks of an explanation of a public algorithm (CRPA R311-3-1-2),
stated here at model level; serving states them for each offer."""

import math

from features.spec import FEATURES


def _fmt(value, digits: int = 3) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def build_card(facts: dict) -> dict:
    """`facts`: what the training run knows (see training.pipeline); returns the card as a dict."""
    m = facts["metrics"]
    best_baseline_name = max(("baseline_rate", "logistic"), key=lambda n: m[f"{n}_test_roc_auc"])
    best_baseline = m[f"{best_baseline_name}_test_roc_auc"]
    aims = facts["aims"]
    distance = {
        "auc_lift_over_best_baseline": m["test_roc_auc"] - best_baseline,
        "auc_lift_aim": aims["min_lift_over_best_baseline"],
        "auc_gap_to_oracle": m["oracle_test_roc_auc"] - m["test_roc_auc"],
        "auc_gap_to_oracle_aim": aims["max_gap_to_oracle"],
        "ece": m["test_ece"],
        "ece_aim": aims["max_ece"],
        "best_baseline": best_baseline_name,
        # The oracle is the ceiling: when it is less than the aim above the best baseline, no model can
        # meet that aim on this data, and the card says so.
        "oracle_headroom_over_best_baseline": m["oracle_test_roc_auc"] - best_baseline,
    }
    distance["aims_met"] = {
        "lift_over_best_baseline": distance["auc_lift_over_best_baseline"] >= aims["min_lift_over_best_baseline"],
        "gap_to_oracle": distance["auc_gap_to_oracle"] <= aims["max_gap_to_oracle"],
        "ece": m["test_ece"] <= aims["max_ece"],
    }
    importance = facts["importance"]
    split = facts["split"]
    bands = facts["risk_bands"]
    return {
        "model_details": {
            "name": facts["model_name"], "version": facts.get("version"), "run_id": facts["run_id"],
            "date": facts["trained_at"], "type": "LightGBM gradient-boosted trees (binary), calibrated "
            f"({facts['calibration']['method']}), native categorical features, monotone salary",
            "trees": facts["trees"], "leaves_per_tree": facts["lightgbm_params"].get("num_leaves"),
            "git_commit": facts["git_commit"], "owner": "France Travail data team (hardtofill)",
            "license": "internal", "contact": "the data team's issue tracker",
        },
        "intended_use": {
            "primary_use": "Estimate, when a job offer is published, the probability that it is not filled "
                           "within 30 days, so that advisers can help the recruiter early.",
            "primary_users": "France Travail advisers working with recruiters; the data team.",
            "out_of_scope": ["Any decision about a person (candidate or recruiter)",
                             "Automatic refusal, ranking of candidates or sanction of an employer",
                             "Offers outside France or outside the API v2 shape"],
            "decision": "Advice to an adviser, who decides; the score never acts on its own.",
        },
        "factors": {
            "relevant": "occupation (ROME), place, contract, working time, experience and qualification asked, "
                        "salary against the market, employer size and sector, season, recent market tension",
            "evaluation_groups": facts["fairness_attributes"],
            "note": "Groups are attributes of offers, never protected grounds of people.",
        },
        "metrics": {
            "model": {k.removeprefix("test_"): v for k, v in m.items() if k.startswith("test_")},
            "baseline_rate": {k.removeprefix("baseline_rate_test_"): v for k, v in m.items()
                              if k.startswith("baseline_rate_test_")},
            "logistic": {k.removeprefix("logistic_test_"): v for k, v in m.items()
                         if k.startswith("logistic_test_")},
            "oracle": {k.removeprefix("oracle_test_"): v for k, v in m.items() if k.startswith("oracle_test_")},
            "distance_to_aims": distance,
            "definitions": "ROC AUC, PR AUC (average precision), Brier score, log loss, expected calibration "
                           "error (10 equal-width bins), precision and recall of the riskiest 20 % of offers.",
        },
        "evaluation_data": {"months": split["test"], "rows": int(m["test_rows"]),
                            "positive_rate": m["test_positive_rate"],
                            "why": "the latest months whose labels have matured, never seen in training"},
        "training_data": {"months": split["train"], "validation_months": split["validation"],
                          "warmup_months": split["warmup"], "rows": facts["train_rows"],
                          "dataset": facts["dataset"]},
        "quantitative_analyses": {"fairness_gaps": facts["fairness_summary"],
                                  "thresholds": facts["fairness_thresholds"],
                                  "table": "fairness_table.csv (run artifact)"},
        "risk_bands": {
            "thresholds": bands,
            "rule": f"high when the probability is at least {bands['high']:.3f}, medium at least "
                    f"{bands['medium']:.3f}, low below",
            "why": f"chosen on the validation months for advisers' capacity: the riskiest "
                   f"{facts['risk_band_shares']['high_share']:.0%} of offers are high, the next "
                   f"{facts['risk_band_shares']['medium_share']:.0%} medium",
        },
        "ethical_considerations": [
            "No personal data: contact details and free text are dropped at ingestion; protected grounds "
            "are not inputs.",
            "Regional and sectoral tension is real and the model reflects it: a region flagged more often "
            "is a labour-market fact, audited per group (fairness table), not a judgement of its employers.",
            "Offers open to disabled workers are audited as a group, so that the score does not deter them.",
            "Advice, not decision: advisers see the factors behind each score and may disregard it.",
            "Advice never lowers job quality by default: turning a CDI into a CDD, or a full-time job into a "
            "part-time one, is left out of the recruiter advice (params.yaml serving.advice_excluded). Such "
            "changes can be switched on by the ethics review, not by the code.",
            "Occupation or contract codes the model never saw (e.g. new ROME codes) are scored, with the "
            "caveat \"métier inconnu du modèle : score moins fiable\" in the answer.",
        ],
        "caveats_and_recommendations": [
            "Trained on a synthetic history that follows published figures (FIGURES.md); retrain and "
            "re-audit on real outcomes before relying on it.",
            "Calibration drifts with the market: watch the monitoring reports and retrain when the "
            "calibration error or drift alerts rise.",
            "Offers with unparsed salary or place get missing values and rely on the other factors.",
            f"Aims: AUC {distance['auc_lift_over_best_baseline']:+.3f} over the best baseline "
            f"(aim +{aims['min_lift_over_best_baseline']:.2f}), {distance['auc_gap_to_oracle']:.3f} "
            f"below the oracle (aim at most {aims['max_gap_to_oracle']:.2f}), ECE {m['test_ece']:.3f} "
            f"(aim at most {aims['max_ece']:.2f}).",
        ],
        "crpa_r311_3_1_2": {
            "contribution_to_decision": "The score estimates how likely the offer is to stay unfilled "
                                        "after 30 days; it is advice shown to a France Travail adviser, "
                                        "who decides whether and how to help the recruiter. No decision "
                                        "is taken automatically.",
            "data_and_sources": "The offer as published on France Travail's job offer API (v2): "
                                "occupation, place, contract, working time, experience, qualification, "
                                "salary, licences, diplomas, employer size and sector, origin; and the "
                                "recent market context (hard-to-fill rates and open offers of the "
                                "occupation in the area), computed from past offers' outcomes.",
            "parameters_and_weights": {
                "explanation": "Each factor's weight is its mean absolute contribution (SHAP, log-odds) "
                               "over the test offers; each offer's own weights come with its score.",
                "weights": [{"feature": row.feature, "description": _description(row.feature),
                             "mean_abs_shap": float(row.mean_abs_shap)} for row in importance.itertuples()],
            },
            "operations": "Parse the offer's fields, join the market context known at publication, "
                          f"sum {facts['trees']} decision trees into a score, turn it into a probability "
                          f"with a {facts['calibration']['method']} calibration, and place it in a risk band.",
        },
        "energy": {"energy_kwh": facts["energy"]["energy_kwh"], "co2e_kg": facts["energy"]["co2e_kg"],
                   "method": facts["energy"]["method"]},
        "gates": facts.get("gates", []),
        "interactions": {k: v for k, v in m.items() if k.startswith(("interaction_", "advice_salary_"))},
    }


def _description(name: str) -> str:
    return next((f.description for f in FEATURES if f.name == name), name)


def card_markdown(card: dict) -> str:
    d, m = card["model_details"], card["metrics"]
    lines = [f"# Model card: {d['name']} (run {d['run_id']})", "",
             "## Model details",
             f"- {d['type']}; {d['trees']} trees of at most {d['leaves_per_tree']} leaves.",
             f"- Trained {d['date']}, git commit `{d['git_commit']}`. Owner: {d['owner']}.", "",
             "## Intended use",
             f"- {card['intended_use']['primary_use']}",
             f"- Users: {card['intended_use']['primary_users']}",
             f"- {card['intended_use']['decision']}",
             "- Out of scope: " + "; ".join(card["intended_use"]["out_of_scope"]) + ".", "",
             "## Factors",
             f"- Relevant: {card['factors']['relevant']}.",
             f"- Evaluated across: {', '.join(card['factors']['evaluation_groups'])}. {card['factors']['note']}", "",
             "## Metrics (test months)", "",
             "| model | ROC AUC | PR AUC | Brier | log loss | ECE | precision@20% | recall@20% |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in ("model", "logistic", "baseline_rate", "oracle"):
        r = m[name]
        lines.append(f"| {name} | {_fmt(r.get('roc_auc'))} | {_fmt(r.get('pr_auc'))} | {_fmt(r.get('brier'))} | "
                     f"{_fmt(r.get('log_loss'))} | {_fmt(r.get('ece'))} | {_fmt(r.get('precision_at_20pct'))} | "
                     f"{_fmt(r.get('recall_at_20pct'))} |")
    dist = m["distance_to_aims"]
    met = dist["aims_met"]
    lines += ["", "### Distance to the aims",
              f"- AUC over the best baseline ({dist['best_baseline']}): {dist['auc_lift_over_best_baseline']:+.4f} "
              f"(aim at least +{dist['auc_lift_aim']:.2f}): {'met' if met['lift_over_best_baseline'] else 'NOT met'}.",
              f"- The oracle (true probabilities, the ceiling) is {dist['oracle_headroom_over_best_baseline']:+.4f} "
              f"over the best baseline: " + ("the lift aim is out of reach of any model on this data."
                                              if dist["oracle_headroom_over_best_baseline"] < dist["auc_lift_aim"]
                                              else "the lift aim is reachable."),
              f"- AUC below the oracle: {dist['auc_gap_to_oracle']:.4f} "
              f"(aim at most {dist['auc_gap_to_oracle_aim']:.2f}): {'met' if met['gap_to_oracle'] else 'NOT met'}.",
              f"- Expected calibration error: {dist['ece']:.4f} (aim at most {dist['ece_aim']:.2f}): "
              f"{'met' if met['ece'] else 'NOT met'}.",
              f"- {m['definitions']}", "",
              "## Evaluation data",
              f"- Months {', '.join(card['evaluation_data']['months'])}: {card['evaluation_data']['rows']:,} "
              f"offers, {card['evaluation_data']['positive_rate']:.1%} hard to fill; "
              f"{card['evaluation_data']['why']}.", "",
              "## Training data"]
    t = card["training_data"]
    ds = t["dataset"]
    lines += [f"- Training months {t['months'][0]} to {t['months'][-1]} ({t['rows']:,} offers); validation "
              f"{', '.join(t['validation_months'])} (early stopping, calibration, risk bands); warm-up "
              f"{', '.join(t['warmup_months'])} (market context only).",
              f"- Dataset: {ds.get('dataset_offers'):,} offers created {ds.get('dataset_first_created')} to "
              f"{ds.get('dataset_last_created')}, sha256 `{str(ds.get('dataset_sha256'))[:16]}…`.", "",
              "## Quantitative analyses (fairness)",
              "| attribute | groups judged | equalized odds difference | calibration gap (group) | "
              "share flagged difference |",
              "| --- | --- | --- | --- | --- |"]
    for attribute, gaps in card["quantitative_analyses"]["fairness_gaps"].items():  # training.fairness.GAP_NAMES
        group = f" ({gaps['calibration_gap_group']})" if gaps.get("calibration_gap_group") else ""
        lines.append(f"| {attribute} | {int(gaps['groups_judged'])} | {_fmt(gaps['equalized_odds_difference'])} | "
                     f"{_fmt(gaps['calibration_gap'])}{group} | {_fmt(gaps['share_flagged_difference'])} |")
    th = card["quantitative_analyses"]["thresholds"]
    lines += [f"- Thresholds: equalized odds difference at most {th['max_equalized_odds_difference']}, calibration "
              f"gap at most {th['max_calibration_gap']}, over groups of at least {th['min_group_size']} offers "
              "(smaller groups are in the table, marked small).", "",
              "## Risk bands", f"- {card['risk_bands']['rule']}.", f"- {card['risk_bands']['why']}.", "",
              "## Ethical considerations"] + [f"- {e}" for e in card["ethical_considerations"]]
    from training.interactions import card_lines

    lines += [""] + card_lines(card.get("interactions", {}))
    lines += ["## Caveats and recommendations"] + [f"- {c}" for c in card["caveats_and_recommendations"]]
    crpa = card["crpa_r311_3_1_2"]
    lines += ["", "## What the law asks (CRPA art. R311-3-1-2), at model level",
              f"1. **How the processing contributes to the decision**: {crpa['contribution_to_decision']}",
              f"2. **Data processed and their sources**: {crpa['data_and_sources']}",
              f"3. **Parameters and their weights**: {crpa['parameters_and_weights']['explanation']}", ""]
    lines += ["   | factor | mean abs. contribution |", "   | --- | --- |"]
    for w in crpa["parameters_and_weights"]["weights"][:15]:
        lines.append(f"   | {w['description']} (`{w['feature']}`) | {w['mean_abs_shap']:.3f} |")
    lines += ["", f"4. **Operations performed**: {crpa['operations']}", "",
              "## Energy",
              f"- {_fmt(card['energy']['energy_kwh'], 6)} kWh, {_fmt(card['energy']['co2e_kg'], 6)} kg CO2e "
              f"({card['energy']['method']}).", ""]
    if card["gates"]:
        lines += ["## Promotion gates"] + [f"- {'pass' if g['passed'] else 'FAIL'}: {g['message']}"
                                           for g in card["gates"]] + [""]
    return "\n".join(lines)
