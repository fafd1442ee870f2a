"""Fairness over time: the training audit's definition (training.fairness), per period, on the
offers scored in it and those whose outcome has matured. (Evidently's GroupBy returns the overall
value for classification metrics, so it is not used for this.)"""

from features.spec import AUDIT_COLUMNS
from training.fairness import fairness, gaps, group_table

ATTRIBUTES = AUDIT_COLUMNS  # the same groups as the training audit

__all__ = ["ATTRIBUTES", "fairness", "gaps", "group_table"]
