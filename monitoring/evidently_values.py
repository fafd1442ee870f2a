"""A value computed outside Evidently (quality, fairlearn gaps, feedback, alerts) carried into an
Evidently snapshot, so that the workspace dashboard draws it as a line over time and the HTML
report shows it, with its table when it has one. Its threshold, when it has one, is an Evidently
test on the value, so that the snapshot's failed tests are the period's alerts.

Only Evidently's public API: a custom metric (SingleValueMetric + SingleValueCalculation, the
documented extension point), tests from `evidently.tests`, widgets from `evidently.widgets`. The
value is a private attribute on purpose: Evidently files each metric's parameters as the series'
labels, so a value among them would start a new series at every period. tests/monitoring/
test_evidently_contract.py fails if an Evidently upgrade changes any of this.
"""

from evidently.core.metric_types import SingleValue, SingleValueCalculation, SingleValueMetric
from pydantic.v1 import PrivateAttr  # Evidently's metrics are pydantic v1 models

METRIC_TYPE = "evidently:metric_v2:MonitoringValue"


class MonitoringValue(SingleValueMetric):
    name: str
    attribute: str = ""
    group: str = ""
    _value: float = PrivateAttr(0.0)
    _title: str = PrivateAttr("")
    _table: tuple | None = PrivateAttr(None)

    def carrying(self, value: float, title: str = "", header: list[str] | None = None,
                 rows: list[list] | None = None) -> "MonitoringValue":
        self._value = float(value)
        self._title = title
        self._table = (header, rows) if header else None
        return self


def _table_widget(title: str, header: list[str], rows: list[list]):
    import plotly.graph_objects as go
    from evidently.widgets import GraphData, plotly_graph

    columns = [[str(row[i]) for row in rows] for i in range(len(header))]
    figure = go.Figure(go.Table(header={"values": header, "align": "left"},
                                cells={"values": columns, "align": "left"}))
    figure.update_layout(height=min(120 + 28 * len(rows), 900), margin={"l": 0, "r": 0, "t": 10, "b": 0})
    return plotly_graph(graph_data=GraphData.figure(title, figure))


class MonitoringValueCalculation(SingleValueCalculation[MonitoringValue]):
    def calculate(self, context, current_data, reference_data) -> SingleValue:
        from evidently.widgets import CounterData, counter

        result = self.result(self.metric._value)
        if self.metric._table is not None:
            header, rows = self.metric._table
            result.widget = [_table_widget(self.display_name(), header, rows)]
        elif self.metric._title:
            result.widget = [counter(counters=[CounterData(self.metric._title, f"{self.metric._value:.4g}")])]
        else:
            result.widget = []  # a dashboard line only: the tables above show it in the HTML
        return result

    def display_name(self) -> str:
        if self.metric._title:
            return self.metric._title
        where = "=".join(part for part in (self.metric.attribute, self.metric.group) if part)
        return f"{self.metric.name} ({where})" if where else self.metric.name
