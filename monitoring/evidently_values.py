"""A value computed outside Evidently (quality, fairlearn gaps, feedback, alerts) carried into an
Evidently snapshot, so that the workspace dashboard draws it as a line over time and the HTML
report shows it, with its table when it has one.

The value is a private attribute on purpose: Evidently files each metric's parameters as the
series' labels, so a value among them would start a new series at every period.
"""

from evidently._pydantic_compat import PrivateAttr
from evidently.core.metric_types import SingleValue, SingleValueCalculation, SingleValueMetric

METRIC_TYPE = "evidently:metric_v2:MonitoringValue"


class MonitoringValue(SingleValueMetric):
    name: str
    attribute: str = ""
    group: str = ""
    _value: float = PrivateAttr(0.0)
    _title: str = PrivateAttr("")
    _table: tuple | None = PrivateAttr(None)
    # Called with Evidently's context before the value is read: lets the alerts use the drift
    # computed in the same run (each metric is computed once per run, cached by its fingerprint).
    _before: object = PrivateAttr(None)

    def carrying(self, value: float, title: str = "", header: list[str] | None = None,
                 rows: list[list] | None = None) -> "MonitoringValue":
        self._value = float(value)
        self._title = title
        self._table = (header, rows) if header else None
        return self

    def before(self, hook) -> "MonitoringValue":
        self._before = hook
        return self


class MonitoringValueCalculation(SingleValueCalculation[MonitoringValue]):
    def calculate(self, context, current_data, reference_data) -> SingleValue:
        from evidently.legacy.renderers.html_widgets import table_data

        if self.metric._before is not None:
            self.metric._before(context)
        from evidently.legacy.renderers.html_widgets import CounterData, WidgetSize, counter

        result = self.result(self.metric._value)
        if self.metric._table is not None:
            header, rows = self.metric._table
            result.widget = [table_data(column_names=header, data=rows, title=self.display_name())]
        elif self.metric._title:
            result.widget = [counter(counters=[CounterData(self.metric._title, f"{self.metric._value:.4g}")],
                                     size=WidgetSize.HALF)]
        else:
            result.widget = []  # a dashboard line only: the tables above show it in the HTML
        return result

    def display_name(self) -> str:
        if self.metric._title:
            return self.metric._title
        where = "=".join(part for part in (self.metric.attribute, self.metric.group) if part)
        return f"{self.metric.name} ({where})" if where else self.metric.name
