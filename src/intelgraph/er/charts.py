"""Drift charts: F1 over time with the alert line, in the terminal or as SVG/HTML/PNG.

SVG and HTML are written by hand (no dependency). PNG needs matplotlib, which is not a
dependency of IntelGraph: when it is not installed a PNG is refused with a message saying
so, and ``.html``/``.svg`` always work.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from intelgraph.kernel.clock import isoformat
from intelgraph.kernel.errors import VALIDATION, IntelGraphError


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One evaluation: when, on which golden set, its F1, and whether it raised an alert."""

    at: datetime
    f1: float
    golden_set: str
    is_alert: bool


@dataclass(frozen=True)
class F1Chart:
    """What a drift chart shows."""

    title: str
    points: list[ChartPoint]
    baseline: float | None
    alert_line: float | None

    def y_range(self) -> tuple[float, float]:
        values = [p.f1 for p in self.points]
        values += [v for v in (self.baseline, self.alert_line) if v is not None]
        low = min(values, default=0.0)
        high = max(values, default=1.0)
        low = max(0.0, min(low, high - 0.02) - 0.01)
        return low, min(1.0, high + 0.005)


def terminal_chart(chart: F1Chart, *, width: int = 64, height: int = 12) -> str:
    """A text chart (rich markup): F1 as dots, the alert line dashed red, alerts marked."""
    if not chart.points:
        return f"{chart.title}\n(no evaluation runs yet)"
    low, high = chart.y_range()
    span = max(high - low, 1e-9)
    points = chart.points[-width:]
    step = max(1, width // max(len(points), 1))
    columns = min(width, len(points) * step)
    grid = [[" "] * columns for _ in range(height)]

    def row_of(value: float) -> int:
        return height - 1 - round((value - low) / span * (height - 1))

    for line_value, mark in ((chart.alert_line, "[red]-[/]"), (chart.baseline, "[blue]·[/]")):
        if line_value is not None and low <= line_value <= high:
            row = row_of(line_value)
            grid[row] = [mark] * columns
    for i, point in enumerate(points):
        mark = "[bold red]✖[/]" if point.is_alert else "[green]●[/]"
        grid[row_of(point.f1)][i * step] = mark
    lines = [chart.title]
    for r, cells in enumerate(grid):
        value = high - r * span / (height - 1)
        lines.append(f"{value:6.3f} │" + "".join(cells))
    lines.append("       └" + "─" * columns)
    first, last = points[0].at, points[-1].at
    runs = f"{len(points)} run" + ("" if len(points) == 1 else "s")
    lines.append(f"        {isoformat(first)[:16]}  …  {isoformat(last)[:16]}  ({runs})")
    legend = "        [green]●[/] F1  [bold red]✖[/] alert"
    if chart.baseline is not None:
        legend += f"  [blue]·[/] baseline {chart.baseline:.4f}"
    if chart.alert_line is not None:
        legend += f"  [red]-[/] alert below {chart.alert_line:.4f}"
    lines.append(legend)
    return "\n".join(lines)


def svg_chart(chart: F1Chart, *, width: int = 800, height: int = 360) -> str:
    """The chart as a standalone SVG document."""
    left, right, top, bottom = 60, 20, 40, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    low, high = chart.y_range()
    span = max(high - low, 1e-9)
    n = len(chart.points)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - low) / span)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<text x="{left}" y="22" font-size="15">{html.escape(chart.title)}</text>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#444"/>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#444"/>',
    ]
    for k in range(5):
        value = low + span * k / 4
        parts.append(
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:.3f}</text>'
        )
    if chart.baseline is not None:
        parts.append(
            f'<line x1="{left}" y1="{y(chart.baseline):.1f}" x2="{left + plot_w}" '
            f'y2="{y(chart.baseline):.1f}" stroke="#36c" stroke-dasharray="2,3"/>'
            f'<text x="{left + plot_w}" y="{y(chart.baseline) - 4:.1f}" text-anchor="end" '
            f'fill="#36c">baseline {chart.baseline:.4f}</text>'
        )
    if chart.alert_line is not None:
        parts.append(
            f'<line x1="{left}" y1="{y(chart.alert_line):.1f}" x2="{left + plot_w}" '
            f'y2="{y(chart.alert_line):.1f}" stroke="#c33" stroke-dasharray="6,4"/>'
            f'<text x="{left + plot_w}" y="{y(chart.alert_line) + 14:.1f}" text-anchor="end" '
            f'fill="#c33">alert below {chart.alert_line:.4f}</text>'
        )
    if n:
        path = " ".join(f"{x(i):.1f},{y(p.f1):.1f}" for i, p in enumerate(chart.points))
        parts.append(f'<polyline points="{path}" fill="none" stroke="#2a2" stroke-width="2"/>')
        for i, p in enumerate(chart.points):
            colour = "#c33" if p.is_alert else "#2a2"
            label = html.escape(f"{isoformat(p.at)} {p.golden_set}: F1 {p.f1:.4f}")
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(p.f1):.1f}" r="4" fill="{colour}">'
                f"<title>{label}</title></circle>"
            )
        parts.append(
            f'<text x="{left}" y="{height - 18}">{isoformat(chart.points[0].at)[:10]}</text>'
            f'<text x="{left + plot_w}" y="{height - 18}" text-anchor="end">'
            f"{isoformat(chart.points[-1].at)[:10]}</text>"
        )
    else:
        parts.append(f'<text x="{left + 20}" y="{top + 30}">no evaluation runs yet</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def html_chart(chart: F1Chart) -> str:
    """A standalone HTML page: the SVG chart and a table of the runs."""
    rows = "\n".join(
        f"<tr><td>{isoformat(p.at)}</td><td>{html.escape(p.golden_set)}</td>"
        f"<td>{p.f1:.4f}</td><td>{'ALERT' if p.is_alert else ''}</td></tr>"
        for p in reversed(chart.points)
    )
    title = html.escape(chart.title)
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{title}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 10px;"
        "text-align:left}</style></head><body>\n"
        f"{svg_chart(chart)}\n<table><tr><th>evaluated</th><th>golden set</th><th>F1</th>"
        f"<th></th></tr>\n{rows}\n</table></body></html>\n"
    )


def write_chart(chart: F1Chart, path: Path) -> None:
    """Write the chart as .html, .svg or .png (by suffix); raises VALIDATION otherwise."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        path.write_text(html_chart(chart), encoding="utf-8")
    elif suffix == ".svg":
        path.write_text(svg_chart(chart), encoding="utf-8")
    elif suffix == ".png":
        _write_png(chart, path)
    else:
        raise IntelGraphError(
            VALIDATION,
            f"cannot write a chart as {suffix or 'a file without a suffix'}; "
            "use .html, .svg or .png",
        )


def _write_png(chart: F1Chart, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        raise IntelGraphError(
            VALIDATION,
            "PNG charts need matplotlib, which is not installed; "
            "`pip install matplotlib`, or write .html or .svg instead",
        ) from None
    figure, axes = pyplot.subplots(figsize=(9, 4))
    times = [p.at for p in chart.points]
    axes.plot(times, [p.f1 for p in chart.points], marker="o", color="#2a2", label="F1")
    alerts = [p for p in chart.points if p.is_alert]
    if alerts:
        axes.scatter([p.at for p in alerts], [p.f1 for p in alerts], color="#c33", zorder=3)
    if chart.baseline is not None:
        axes.axhline(chart.baseline, color="#36c", linestyle=":", label="baseline")
    if chart.alert_line is not None:
        axes.axhline(chart.alert_line, color="#c33", linestyle="--", label="alert line")
    axes.set_title(chart.title)
    axes.set_ylim(*chart.y_range())
    axes.legend(loc="lower left")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
