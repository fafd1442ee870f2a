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
# # The offer history, beside the published figures
#
# What the data team looks at first: how offers end and how long they take to fill, then the
# hard-to-fill rate (not filled within 30 days of creation) by ROME domain, region, contract type,
# employer size and month, each beside the published figure it is meant to reflect
# (`../shared/reference/FIGURES.md`; the numbers the generator is grounded in are in
# `features/generator/figures.yaml`). Last, the same views on the 519 real offers of the public
# "Offres d'emploi v2" API sample, for the fields they carry (they have no outcome).
#
# Settings are read as the CLI reads them (`HARDTOFILL_*` environment variables, paths relative to
# the repository): the history is `HARDTOFILL_HISTORY_PATH` (default
# `data/offers_history.parquet`, made by `make data`), the real sample
# `HARDTOFILL_SAMPLE_PATH` (default `../shared/data/offres_api_v2_sample.json`).
#
# A note on what is compared: the BMO survey's "% of hiring projects judged difficult" is the
# recruiters' own judgement, not "not filled within 30 days"; the two are expected to rank domains
# and regions alike, not to be equal. The time-to-fill figures (§1) are closer to our label.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from features.build import parse_offer_fields
from features.generator.figures import load_figures
from features.ingest import offers_frame_from_json, read_history
from features.labels import HORIZON, label_offers, matured
from hardtofill.notebook import start_notebook
from hardtofill.settings import get_settings
from training.data import TRAINING_COLUMNS

ROOT, settings = start_notebook()
figures = load_figures()
print(f"repository: {ROOT}\nhistory: {settings.history_path}")

# %% [markdown]
# ## The history
# Offers, their lifecycle (filled, abandoned, cancelled or still open at the extraction date) and
# the label from `features.labels`. Offers created less than 30 days before the extraction are left
# out of every rate below, as they are out of training (`matured`).

# %%
history = read_history(settings.history_path, progress=False, columns=TRAINING_COLUMNS)  # Parquet: these only
horizon = HORIZON
lifecycle = label_offers(history.lifecycle)
offers = parse_offer_fields(history.offers)
frame = offers.assign(outcome=lifecycle["outcome"].to_numpy(), outcome_at=lifecycle["outcome_at"].to_numpy(),
                      label=lifecycle["label"].to_numpy(), oracle=history.oracle.to_numpy())
frame["matured"] = matured(frame, history.extracted_at)
frame["days_to_outcome"] = (frame["outcome_at"] - frame["created_at"]).dt.total_seconds() / 86_400
labelled = frame[frame["matured"]]
print(f"{len(frame):,} offers created {frame['created_at'].min():%Y-%m-%d} to {frame['created_at'].max():%Y-%m-%d}, "
      f"extracted {history.extracted_at:%Y-%m-%d}; {len(labelled):,} with a matured label "
      f"({frame['matured'].mean():.0%}), of which {labelled['label'].mean():.1%} hard to fill")

# %% [markdown]
# ## How offers end (FIGURES §1)
# Published outcome of closed offers of a month or more (Pôle emploi / France Travail, "Offres
# pourvues et abandons de recrutement", 2022 survey): 83.4 % filled, 6.2 % abandoned for lack of a
# suitable candidate, 2.9 % cancelled, 7.5 % still open at the survey. Compared with offers at least
# 90 days old at the extraction, so that most have reached an outcome as in the survey.

# %%
PUBLISHED_OUTCOMES_2022 = {"filled": 83.4, "abandoned": 6.2, "cancelled": 2.9, "open": 7.5}  # FIGURES §1
old_enough = frame[frame["created_at"] <= history.extracted_at - pd.Timedelta(days=90)]
outcomes = pd.DataFrame({
    "history %": old_enough["outcome"].value_counts(normalize=True).mul(100),
    "published 2022 %": pd.Series(PUBLISHED_OUTCOMES_2022),
}).reindex(list(PUBLISHED_OUTCOMES_2022))
display(outcomes.round(1))
ax = outcomes.plot.bar(rot=0, title="Outcome of offers at least 90 days old vs the 2022 survey")
ax.set_ylabel("% of offers")
plt.show()

# %% [markdown]
# ## Time to fill (FIGURES §1)
# Published: median 45–47 days from publication to hire (2018–2023); 35 % of hires within 17–19
# days; three quarters within about 3 months. With such a median, 55–65 % of labelled offers
# should take more than 30 days.

# %%
filled_days = old_enough.loc[old_enough["outcome"] == "filled", "days_to_outcome"]
time_to_fill = pd.DataFrame([
    ("median days to hire", filled_days.median(), "45-47"),
    ("% of hires within 18 days", (filled_days <= 18).mean() * 100, "35"),
    ("% of hires within 91 days", (filled_days <= 91).mean() * 100, "about 75"),
    ("% of labelled offers hard to fill", labelled["label"].mean() * 100, "55-65"),
], columns=["measure", "history", "published"]).set_index("measure")
display(time_to_fill.round(1))

fig, ax = plt.subplots()
ax.hist(filled_days.clip(upper=240), bins=80, color="tab:blue", alpha=0.8)
ax.axvline(filled_days.median(), color="black", label=f"median here: {filled_days.median():.0f} days")
ax.axvspan(45, 47, color="tab:red", alpha=0.4, label="published median: 45-47 days")
ax.axvline(horizon.days, color="tab:orange", linestyle="--", label=f"label horizon: {horizon.days} days")
ax.set(xlabel="days from creation to hire (capped at 240)", ylabel="filled offers",
       title="Time to fill, offers at least 90 days old")
ax.legend()
plt.show()


# %% [markdown]
# ## Hard-to-fill rate by ROME domain (FIGURES §2)
# Beside the BMO 2019 "% of hiring projects judged difficult", mean over the domain's ROME codes.
# The two should rank the domains alike (Spearman rank correlation below).

# %%
def rate_by(column: str, data: pd.DataFrame = labelled) -> pd.DataFrame:
    """Hard-to-fill rate (%), offers and median days to hire of filled offers, per value of a column."""
    grouped = data.groupby(column, dropna=False)
    filled = data[data["outcome"] == "filled"].groupby(column, dropna=False)["days_to_outcome"].median()
    return pd.DataFrame({"offers": grouped.size(), "hard to fill %": grouped["label"].mean() * 100,
                         "median days to hire": filled})


def compare_plot(table: pd.DataFrame, published: str, title: str, published_label: str) -> None:
    """Bars of the history's rate beside the published figure, ordered by the published one."""
    ordered = table.sort_values(published)
    ax = ordered[["hard to fill %", published]].plot.barh(figsize=(10, 0.32 * len(ordered) + 1.5), title=title)
    ax.set_xlabel("%")
    ax.legend(["history: not filled within 30 days", published_label], loc="upper center",
              bbox_to_anchor=(0.5, -0.12), ncol=2)
    plt.tight_layout()
    plt.show()


def rank_agreement(table: pd.DataFrame, published: str) -> float:
    return table["hard to fill %"].corr(table[published], method="spearman")


domains = rate_by("rome_domain")
domains.insert(0, "domain", [figures.domains[d].label if d in figures.domains else "?" for d in domains.index])
domains["BMO 2019 % difficult"] = [figures.domains[d].difficult_pct if d in figures.domains else np.nan
                                   for d in domains.index]
display(domains.round(1))
print(f"rank agreement with the BMO (Spearman): {rank_agreement(domains, 'BMO 2019 % difficult'):.2f}")
compare_plot(domains.set_index("domain"), "BMO 2019 % difficult", "Hard-to-fill rate by ROME domain",
             "BMO 2019: % of projects judged difficult")

# %% [markdown]
# ## By region (FIGURES §3)
# Beside the BMO 2025 "% difficult" per region (sum over the survey's non-suppressed cells).

# %%
regions = rate_by("region")
regions["BMO 2025 % difficult"] = [figures.regions[r][1] if r in figures.regions else np.nan for r in regions.index]
display(regions.sort_values("BMO 2025 % difficult").round(1))
print(f"rank agreement with the BMO (Spearman): {rank_agreement(regions, 'BMO 2025 % difficult'):.2f}")
compare_plot(regions.dropna(subset=["BMO 2025 % difficult"]), "BMO 2025 % difficult", "Hard-to-fill rate by region",
             "BMO 2025: % of projects judged difficult")

# %% [markdown]
# ## By contract type (FIGURES §1, 2016 medians)
# Published median days to hire: CDI 44, contracts of 6 months or more 40, shorter ones 31. The
# history's CDDs are split the same way (`contract_months`, parsed from the contract's label).
# Temporary work (MIS) and the rare types have no published figure.

# %%
def contract_group(row_type: str, months: float) -> str:
    if row_type == "CDD":
        return "CDD 6 months or more" if months >= 6 else "CDD under 6 months" if months == months else "CDD (length?)"
    return row_type


contracts = labelled.assign(contract=[contract_group(t, m) for t, m in
                                      zip(labelled["contract_type"], labelled["contract_months"], strict=True)])
by_contract = rate_by("contract", contracts)
by_contract["published median days (2016)"] = pd.Series(
    {"CDI": 44, "CDD 6 months or more": 40, "CDD under 6 months": 31})
by_contract = by_contract.sort_values("offers", ascending=False)
display(by_contract.round(1))

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
by_contract["hard to fill %"].plot.bar(ax=left, rot=45, title="Hard-to-fill rate by contract", color="tab:blue")
published_contracts = by_contract.dropna(subset=["published median days (2016)"])
published_contracts[["median days to hire", "published median days (2016)"]].plot.bar(
    ax=right, rot=0, title="Median days to hire vs 2016 figures")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## By employer size (FIGURES §1, 2016 medians)
# Published median days to hire: establishments under 100 staff 31–38, 100 staff or more 54.
# The size band is missing on about 30 % of offers, as in real payloads.

# %%
sizes = rate_by("employer_size_band")
sizes.index = sizes.index.fillna("unknown")
sizes = sizes.reindex(["0-9", "10-49", "50-99", "100-249", "250+", "unknown"])
sizes["published median days (2016)"] = ["31-38"] * 3 + ["54"] * 2 + [""]
display(sizes.round(1))
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
sizes["hard to fill %"].plot.bar(ax=left, rot=0, title="Hard-to-fill rate by employer size", color="tab:blue")
sizes["median days to hire"].plot.bar(ax=right, rot=0, title="Median days to hire by employer size", color="tab:green")
right.axhspan(31, 38, xmin=0, xmax=0.5, color="tab:red", alpha=0.3, label="published, under 100 staff")
right.axhline(54, xmin=0.5, xmax=5 / 6, color="tab:red", label="published, 100 staff or more")
right.legend(loc="upper left", fontsize="small")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## By month
# The label by month of creation, beside the national BMO "% difficult" of the survey year
# (FIGURES §2: 2023 61.0 %, 2024 57.4 %). The generator adds a summer effect, stronger in the
# seasonal domains (agriculture, hotels and restaurants), and a December one (assumptions in
# `figures.yaml`, published in direction only). The oracle (the generator's true probability) shows
# how much of the monthly movement is noise.

# %%
monthly = labelled.groupby(labelled["created_at"].dt.tz_localize(None).dt.to_period("M")).agg(
    offers=("label", "size"), hard=("label", "mean"), oracle=("oracle", "mean"))
monthly["BMO national % difficult (year)"] = [figures.national_difficult_pct_by_year.get(p.year, np.nan)
                                              for p in monthly.index]
monthly[["hard", "oracle"]] *= 100
display(monthly.round(1))
ax = monthly[["hard", "oracle", "BMO national % difficult (year)"]].plot(
    marker="o", title="Hard-to-fill rate by month of creation")
ax.set_ylabel("%")
ax.legend(["history: not filled within 30 days", "oracle: true probability (mean)", "BMO national % difficult"])
plt.show()

season = np.select([labelled["month"].isin([6, 7, 8]), labelled["month"].eq(12)], ["summer", "December"],
                   "rest of the year")
seasonal_domain = labelled["rome_domain"].isin(figures.effects.summer_seasonal_domains).map(
    {True: "seasonal domains (A, G)", False: "other domains"})
display((labelled.pivot_table(index=season, columns=seasonal_domain, values="label", aggfunc="mean") * 100)
        .rename_axis(index="season", columns=None).round(1))

# %% [markdown]
# ## The real sample: what real payloads carry
# 519 offers of the public API (created 2022-10 to 2024-11), read through the same schema and
# parsers as the history. They carry no outcome, so only their fields are compared: presence of
# the optional fields, contract types, experience asked, salaries, domains and regions, each beside
# the history and the shares `figures.yaml` was given (FIGURES §4).

# %%
import json

DEFAULT_SAMPLE = ROOT.parent / "shared" / "data" / "offres_api_v2_sample.json"
sample_path = Path(os.environ.get("HARDTOFILL_SAMPLE_PATH", DEFAULT_SAMPLE))
if not sample_path.is_file():
    raise FileNotFoundError(f"real API sample not found at {sample_path}: set HARDTOFILL_SAMPLE_PATH "
                            "or clone the project beside ../shared")

sample = parse_offer_fields(offers_frame_from_json(json.loads(sample_path.read_text("utf-8"))))
print(f"{len(sample)} real offers, created {sample['created_at'].min():%Y-%m} to {sample['created_at'].max():%Y-%m}")
print("values the parsers could not read (set to missing):", sample.attrs.get("unparsed"))

# %%
PRESENCE = {  # figures.yaml `presence` key -> column of the offer frame
    "salary": "salary_label", "qualification": "qualification_code",
    "working_time_converted": "working_time_converted", "working_time_label": "working_time_label",
    "formations": "diploma_levels", "naf": "naf_division", "employer_size": "employer_size_label",
    "commune": "commune_code",
}
presence = pd.DataFrame({
    "real sample %": {key: sample[column].notna().mean() * 100 for key, column in PRESENCE.items()},
    "history %": {key: offers[column].notna().mean() * 100 for key, column in PRESENCE.items()},
    "figures.yaml %": {key: figures.presence[key] * 100 for key in PRESENCE},
})
for name, real, generated in (("competences", sample["competences_count"] > 0, offers["competences_count"] > 0),
                              ("licence", sample["licence_required"] | sample["licence_desired"],
                               offers["licence_required"] | offers["licence_desired"])):
    presence.loc[name] = [real.mean() * 100, generated.mean() * 100, figures.presence[name] * 100]
display(presence.round(1))
ax = presence.plot.barh(figsize=(10, 5), title="Share of offers carrying an optional field")
ax.set_xlabel("% of offers")
plt.show()

# %%
def shares(column: str) -> pd.DataFrame:
    return pd.DataFrame({"real sample %": sample[column].value_counts(normalize=True) * 100,
                         "history %": offers[column].value_counts(normalize=True) * 100})


contract_shares = shares("contract_type")
contract_shares["figures.yaml %"] = pd.Series(figures.contracts) * 100
experience_shares = shares("experience_code")
experience_shares["figures.yaml %"] = pd.Series(figures.experience) * 100
display(contract_shares.sort_values("real sample %", ascending=False).round(1), experience_shares.round(1))
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
contract_shares.sort_values("real sample %", ascending=False).plot.bar(ax=left, rot=0, title="Contract types")
experience_shares.plot.bar(ax=right, rot=0, title="Experience asked (D beginner, E required, S desired)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Salaries
# Parsed by `features.parsing.parse_salary` into a yearly gross amount (monthly × months, hourly ×
# 35 h × 52 weeks), mid-point of the range. Offers without a salary, or with one the parser
# cannot read, are missing here. The sample's four occupations are low-paid ones, so the history's
# offers of the same occupations are shown too.

# %%
same_occupations = offers[offers["rome_code"].isin(sample["rome_code"].unique())]
salary = pd.DataFrame({"real sample": sample["salary_yearly_mid"].describe(),
                       "history, same occupations": same_occupations["salary_yearly_mid"].describe(),
                       "history": offers["salary_yearly_mid"].describe()})
display(salary.round(0))
display(pd.DataFrame({"real sample %": sample["salary_period"].value_counts(normalize=True) * 100,
                      "history %": offers["salary_period"].value_counts(normalize=True) * 100}).round(1))
fig, ax = plt.subplots()
bins = np.linspace(10_000, 80_000, 57)
ax.hist(offers["salary_yearly_mid"].dropna(), bins=bins, density=True, alpha=0.4, label="history")
ax.hist(same_occupations["salary_yearly_mid"].dropna(), bins=bins, density=True, histtype="step", linewidth=2,
        label="history, same occupations")
ax.hist(sample["salary_yearly_mid"].dropna(), bins=bins, density=True, alpha=0.6, label="real sample")
ax.set(xlabel="yearly gross salary, mid-point of the range (€)", ylabel="density",
       title="Salaries shown in offers")
ax.legend()
plt.show()

# %% [markdown]
# ### Occupations, domains and regions
# The real sample holds only four ROME codes, all in domain K (cleaning and waste collection):
# the domain shares say more about the sample than about real offers, so the history's salaries of
# the same occupations are shown beside the sample's.

# %%
occupations = pd.DataFrame({"real sample offers": sample["rome_code"].value_counts()})
# Every ROME code of metiers_tension.csv is generated (features/generator/reference.py).
tension = pd.read_csv(get_settings().reference_dir / "metiers_tension.csv").groupby("rome_code").agg(
    label=("rome_label", "first"), pct=("tension_pct", "mean"))
occupations["label (metiers_tension.csv)"] = tension["label"].reindex(occupations.index).fillna("?").to_numpy()
occupations["BMO 2019 % difficult"] = tension["pct"].reindex(occupations.index).to_numpy()
same_codes = frame["rome_code"].isin(occupations.index)
occupations["history offers"] = frame.loc[same_codes, "rome_code"].value_counts()
occupations["history hard to fill %"] = labelled[labelled["rome_code"].isin(occupations.index)].groupby(
    "rome_code")["label"].mean() * 100
occupations["real median salary"] = sample.groupby("rome_code")["salary_yearly_mid"].median()
occupations["history median salary"] = frame[same_codes].groupby("rome_code")["salary_yearly_mid"].median()
display(occupations.round(1))

# %%
domain_shares = shares("rome_domain")
region_shares = shares("region")
volumes = pd.Series({r: v[0] for r, v in figures.regions.items()})
region_shares["BMO 2025 projects %"] = volumes / volumes.sum() * 100
display(domain_shares.round(1), region_shares.sort_values("BMO 2025 projects %", ascending=False).round(1))
fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6), gridspec_kw={"width_ratios": [1, 1.4]})
domain_shares.plot.barh(ax=left, title="Offers by ROME domain")
region_shares.sort_values("BMO 2025 projects %").plot.barh(ax=right, title="Offers by region")
left.set_xlabel("% of offers")
right.set_xlabel("% of offers")
plt.tight_layout()
plt.show()
