"""The published figures the generator is grounded in (figures.yaml), as a typed config."""

from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Outcomes(_Strict):
    cancelled_share: float
    pool_shape: float
    flow_days: float
    intercept: float
    abandon_shape: float
    abandon_log_rate: float
    abandon_size: dict[str, float]
    abandon_tension: float
    max_open_days: float


class Domain(_Strict):
    label: str
    difficult_pct: float
    salary_factor: float


class Reference(_Strict):
    suppressed_projects: float
    shrinkage_projects: float
    fallback_difficult_pct: float


class Seasonality(_Strict):
    sai_publication: float
    profiles: dict[str, tuple[float, ...]]


class SalaryElasticity(_Strict):
    low: float
    skilled: float
    technician: float
    manager: float
    hidden: float


class Effects(_Strict):
    occupation_area_tension: float
    year_tension: float
    qualification: dict[str, float]
    contract: dict[str, float]
    employer_size: dict[str, float]
    size_contract: dict[str, float]
    salary_elasticity: SalaryElasticity
    salary_hidden: float
    experience: dict[str, float]
    experience_per_year: float
    diploma_required: float
    licence_required: float
    requirements_x_tension: float
    positions_log: float
    accessible_th: float
    partner_origin: float
    summer_seasonal_domains: list[str]
    summer: float
    summer_seasonal_extra: float
    december: float
    employer_sd: float
    offers_per_employer: float


class Rome4(_Strict):
    migrating_share: float
    new_code_share: float


class Figures(_Strict):
    outcomes: Outcomes
    domains: dict[str, Domain]
    new_occupations: dict[str, tuple[float, str]]
    regions: dict[str, tuple[int, float, float]]
    national_difficult_pct_by_year: dict[int, float]
    contracts: dict[str, float]
    experience: dict[str, float]
    presence: dict[str, float]
    origin_partner_share: float
    accessible_th_share: float
    lacks_candidates_share: float
    reference: Reference
    seasonality: Seasonality
    effects: Effects
    rome4: Rome4


@lru_cache
def load_figures() -> Figures:
    text = resources.files("features.generator").joinpath("figures.yaml").read_text("utf-8")
    return Figures.model_validate(yaml.safe_load(text))
