"""The published figures the generator is grounded in (figures.yaml), as a typed config."""

from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel


class Outcomes(BaseModel):
    cancelled_share: float
    abandoned_among_hard: float
    stale_among_hard: float
    intercept: float
    early_fill_beta: tuple[float, float]
    late_fill_median_days: float
    late_fill_sigma: float


class Domain(BaseModel):
    label: str
    difficult_pct: float
    weight: float
    salary_factor: float


class Effects(BaseModel):
    occupation_tension: float
    region_tension: float
    year_tension: float
    qualification: dict[str, float]
    contract: dict[str, float]
    employer_size: dict[str, float]
    salary_log_ratio: float
    salary_hidden: float
    experience: dict[str, float]
    experience_per_year: float
    licence_required: float
    positions_log: float
    accessible_th: float
    partner_origin: float
    summer_seasonal_domains: list[str]
    summer: float
    summer_seasonal_extra: float
    december: float


class Figures(BaseModel):
    outcomes: Outcomes
    domains: dict[str, Domain]
    occupations: dict[str, tuple[float, str]]
    new_occupations: dict[str, tuple[float, str]]
    regions: dict[str, tuple[int, float, float]]
    national_difficult_pct_by_year: dict[int, float]
    contracts: dict[str, float]
    experience: dict[str, float]
    presence: dict[str, float]
    origin_partner_share: float
    accessible_th_share: float
    lacks_candidates_share: float
    effects: Effects


@lru_cache
def load_figures() -> Figures:
    text = resources.files("features.generator").joinpath("figures.yaml").read_text("utf-8")
    return Figures.model_validate(yaml.safe_load(text))
