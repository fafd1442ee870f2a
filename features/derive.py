"""Offer fields -> parsed values, each derivation defined once as a function of one offer's values.

Training applies every rule to a whole offer frame, once per distinct combination of the rule's
inputs (`derive_frame`, vectorised by grouping: offers repeat a lot); serving applies the same
rules to one offer at a time (`derive_offer`, memoised per rule), so there is one definition of
each feature for both paths and a test (tests/features/test_offer_path.py) proves they agree.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from operator import itemgetter
from typing import Literal

import numpy as np
import pandas as pd

from features.frames import combination_codes
from features.parsing import (
    parse_contract_months,
    parse_diploma_level,
    parse_employer_size,
    parse_experience_months,
    parse_location,
    parse_rome,
    parse_salary,
    parse_weekly_hours,
    parse_working_time,
)
from features.spec import AUDIT_COLUMNS

NAN = math.nan
Kind = Literal["float", "object", "bool"]


def _float(value) -> float:
    return NAN if value is None else float(value)


def salary(label):
    parsed = parse_salary(label)
    if parsed is None:
        return NAN, NAN, NAN, None, False
    mid = (parsed.yearly_low + parsed.yearly_high) / 2
    return parsed.yearly_low, parsed.yearly_high, mid, parsed.period, not math.isnan(mid)


def weekly_hours(label):
    return (_float(parse_weekly_hours(label)),)


def working_time(converted, label):
    return (parse_working_time(converted, label),)


def experience(code, label):
    months = parse_experience_months(label)
    # "Débutant accepté" without a readable duration: no experience asked.
    return (0.0 if months is None and code == "D" else _float(months),)


def contract(label):
    return (_float(parse_contract_months(label)),)


def place(label, postal, commune):
    location = parse_location({"libelle": label, "codePostal": postal, "commune": commune})
    return (location.department, location.region) if location else (None, None)


def occupation(code):
    rome = parse_rome(code)
    return (rome.domain, rome.subdomain) if rome else (None, None)


def employer_size(label):
    return (parse_employer_size(label),)


def diploma(levels):
    if levels is None:
        return (NAN,)
    return (_float(parse_diploma_level([{"niveauLibelle": level} for level in levels.split("|")])),)


def publication_month(created_at: datetime):
    moment = created_at.replace(tzinfo=UTC) if created_at.tzinfo is None else created_at.astimezone(UTC)
    return (float(moment.month),)


def audit(region, size_band, domain, contract_type, accessible_th):
    """Attributes of offers used to audit fairness (never protected grounds of people)."""
    accessible = None if accessible_th is None else {True: "yes", False: "no"}.get(accessible_th)
    values = (region, size_band, domain, contract_type, accessible)
    return tuple("unknown" if value is None else value for value in values)


@dataclass(frozen=True)
class Rule:
    inputs: tuple[str, ...]
    outputs: tuple[tuple[str, Kind], ...]
    function: Callable[..., tuple]
    unparsed: str | None = None  # the input whose values the rule may fail to read (counted)
    vectorised: Callable[[pd.DataFrame], dict] | None = None  # same values, whole columns at once

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.outputs)


RULES: tuple[Rule, ...] = (
    Rule(("salary_label",), (("salary_yearly_low", "float"), ("salary_yearly_high", "float"),
                             ("salary_yearly_mid", "float"), ("salary_period", "object"),
                             ("salary_shown", "bool")), salary, "salary_label"),
    Rule(("working_time_label",), (("weekly_hours", "float"),), weekly_hours, "working_time_label"),
    Rule(("working_time_converted", "working_time_label"), (("working_time", "object"),), working_time),
    Rule(("experience_code", "experience_label"), (("experience_months", "float"),), experience,
         "experience_label"),
    Rule(("contract_label",), (("contract_months", "float"),), contract, "contract_label"),
    Rule(("place_label", "postal_code", "commune_code"), (("department", "object"), ("region", "object")),
         place, "place"),
    Rule(("rome_code",), (("rome_domain", "object"), ("rome_subdomain", "object")), occupation, "rome_code"),
    Rule(("employer_size_label",), (("employer_size_band", "object"),), employer_size, "employer_size_label"),
    Rule(("diploma_levels",), (("diploma_level", "float"),), diploma, "diploma_levels"),
    Rule(("created_at",), (("month", "float"),), publication_month,
         vectorised=lambda frame: {"month": frame["created_at"].dt.tz_convert("UTC").dt.month.astype(float)}),
)
AUDIT_RULE = Rule(("region", "employer_size_band", "rome_domain", "contract_type", "accessible_th"),
                  tuple((f"audit_{name}", "object") for name in AUDIT_COLUMNS), audit)


def _unparsed(rule: Rule, inputs: tuple, outputs: tuple) -> bool:
    if rule.unparsed == "place":
        return outputs[1] is None  # no region found, whatever was given
    given = inputs[rule.inputs.index(rule.unparsed)] is not None
    first = outputs[0]
    return given and (first is None or (isinstance(first, float) and math.isnan(first)))


def apply_rule(frame: pd.DataFrame, rule: Rule) -> tuple[dict[str, np.ndarray], int]:
    """The rule's output columns over a frame, and how many rows it could not read."""
    if rule.vectorised is not None:
        return {name: values.to_numpy() for name, values in rule.vectorised(frame).items()}, 0
    codes, combinations = combination_codes(frame, rule.inputs)
    results = [rule.function(*values) for values in combinations]
    columns = {}
    for position, (name, kind) in enumerate(rule.outputs):
        dtype = {"float": float, "bool": bool, "object": object}[kind]
        distinct = np.empty(len(results), dtype=dtype)
        distinct[:] = [result[position] for result in results]
        columns[name] = distinct[codes]
    unparsed = 0
    if rule.unparsed is not None and len(results):
        failed = np.fromiter((_unparsed(rule, values, result) for values, result in
                              zip(combinations, results, strict=True)), bool, len(results))
        unparsed = int(np.count_nonzero(failed[codes]))
    return columns, unparsed


def derive_frame(offers: pd.DataFrame, rules: tuple[Rule, ...] = RULES) -> tuple[pd.DataFrame, dict[str, int]]:
    """The offer frame with every rule's columns added, and the unparsed counts (field -> rows)."""
    frame = offers.copy()
    unparsed: dict[str, int] = {}
    for rule in rules:
        columns, count = apply_rule(frame, rule)
        for name, values in columns.items():
            frame[name] = values
        if rule.unparsed is not None and count:
            unparsed[rule.unparsed] = count
    return frame, unparsed


@cache
def _memoised(function: Callable) -> Callable:
    # Distinct values repeat across requests (salary strings, places, codes): parse each once.
    return lru_cache(maxsize=16_384)(function)


@cache
def _plan(rules: tuple[Rule, ...]) -> tuple[tuple[Callable, Callable, tuple[str, ...]], ...]:
    # Each rule's function (memoised), a getter of its inputs (as a tuple) and its output names,
    # made once per process.
    return tuple((rule.function if rule.vectorised is not None else _memoised(rule.function),
                  itemgetter(*rule.inputs) if len(rule.inputs) > 1 else _single(rule.inputs[0]), rule.names)
                 for rule in rules)


def _single(name: str) -> Callable[[dict], tuple]:
    return lambda values: (values[name],)


def derive_offer(values: dict, rules: tuple[Rule, ...] = RULES) -> dict:
    """The same rules on one offer's values (features.ingest.OFFER_COLUMNS), in place."""
    # The default rules' plan without hashing the rules (a tuple of dataclasses) at every call.
    plan = _default_plan() if rules is RULES else _plan(rules)
    for function, inputs, names in plan:
        values.update(zip(names, function(*inputs(values)), strict=True))
    return values


@cache
def _default_plan() -> tuple:
    return _plan(RULES)
