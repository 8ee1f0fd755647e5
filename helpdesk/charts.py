"""Server-rendered SVG bar charts: geometry and markup here (``BarChart.svg``, built in Python
with every label escaped: a dashboard draws a few hundred bars, which the template language
rendered an order of magnitude slower), placed by templates/helpdesk/dashboard/_bar_chart.html.
No JavaScript, no inline style: colours come from classes in static/css/app.css. Every chart
is shown next to a table with the same figures, which is the accessible alternative."""

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 640
LABEL_WIDTH = 300
VALUE_WIDTH = 60
BAR_HEIGHT = 18
GAP = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: float
    text_y: int


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    value_x: float

    @property
    def empty(self) -> bool:
        return not self.bars

    @property
    def svg(self) -> SafeString:
        rows = format_html_join(
            "\n",
            '<g class="chart-row"><text class="chart-label" x="0" y="{}">{}</text>'
            '<rect class="chart-bar" x="{}" y="{}" width="{}" height="18"></rect>'
            '<text class="chart-value" x="{}" y="{}">{}</text></g>',
            (
                (bar.text_y, bar.label, self.label_width, bar.y, str(bar.width), self.value_x,
                 bar.text_y, bar.text)
                for bar in self.bars
            ),
        )  # fmt: skip
        return format_html(
            '<svg class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
            'aria-label="{}; the table next to it has the same figures" '
            'xmlns="http://www.w3.org/2000/svg">\n<title>{}</title>\n{}\n</svg>',
            self.width,
            self.height,
            self.width,
            self.height,
            self.title,
            self.title,
            rows,
        )


def bar_chart(
    title: str, rows: list[tuple[str, float]], *, unit: str = "", maximum: float | None = None
) -> BarChart:
    """Horizontal bars, one per (label, value), scaled to the largest value (or `maximum`,
    e.g. 100 for percentages)."""
    top = maximum if maximum else max((value for _, value in rows), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for index, (label, value) in enumerate(rows):
        y = GAP + index * (BAR_HEIGHT + GAP)
        shown = f"{value:g}{unit}"
        bars.append(
            Bar(
                label=label if len(label) <= 44 else label[:43] + "…",
                value=value,
                text=shown,
                y=y,
                width=round(max(0.0, min(value, top)) / top * span, 1),
                text_y=y + BAR_HEIGHT - 4,
            )
        )
    return BarChart(
        title=title,
        bars=bars,
        width=WIDTH,
        height=GAP + len(rows) * (BAR_HEIGHT + GAP),
        label_width=LABEL_WIDTH,
        value_x=WIDTH - VALUE_WIDTH + 4,
    )
