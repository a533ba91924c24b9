"""Server-side SVG charts for the console: a line chart of monthly rates and a bar chart per
grid. Plain SVG markup (no script, no CDN), sized by ``viewBox`` so it shrinks to a phone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

COLOURS = ("#1f6feb", "#2da44e", "#d4a72c", "#cf222e", "#8250df")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # 0..1 rates; None: no data that month


def line_chart(labels: Sequence[str], series: Sequence[Series], *, title: str,
               width: int = 640, height: int = 260) -> Markup:
    """Rates (0–100 %) over ``labels`` (months), one polyline per series, with a legend."""
    left, right, top, bottom = 40, 10, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(labels) - 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + plot_h * (1 - v)

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" '
                     f'y2="{y(tick):.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                     f'font-size="10">{int(tick * 100)}%</text>')
    for i, label in enumerate(labels):
        parts.append(f'<text x="{x(i):.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                     f'font-size="9">{escape(label[2:])}</text>')
    for n, line in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        runs: list[list[str]] = [[]]
        for i, value in enumerate(line.values):
            if value is None:
                runs.append([])
                continue
            runs[-1].append(f"{x(i):.1f},{y(value):.1f}")
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="2.5" fill="{colour}">'
                         f"<title>{escape(line.name)} {escape(labels[i])}: "
                         f"{value * 100:.1f}%</title></circle>")
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                             f'points="{" ".join(run)}"/>')
        lx = left + n * (plot_w / max(1, len(series)))
        parts.append(f'<rect x="{lx:.1f}" y="8" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{lx + 14:.1f}" y="17" font-size="11">{escape(line.name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(labels: Sequence[str], totals: Sequence[int], highlights: Sequence[int], *,
              title: str, total_name: str, highlight_name: str, width: int = 640) -> Markup:
    """Horizontal bars, one per label: the total, with the highlighted part (e.g. overdue)."""
    row, left, right, top = 22, 110, 40, 26
    height = top + row * max(1, len(labels)) + 8
    peak = max([1, *totals])
    scale = (width - left - right) / peak
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>",
             f'<rect x="{left}" y="6" width="10" height="10" fill="{COLOURS[0]}"/>'
             f'<text x="{left + 14}" y="15" font-size="11">{escape(total_name)}</text>'
             f'<rect x="{left + 90}" y="6" width="10" height="10" fill="{COLOURS[3]}"/>'
             f'<text x="{left + 104}" y="15" font-size="11">{escape(highlight_name)}</text>']
    for i, (label, total, part) in enumerate(zip(labels, totals, highlights, strict=True)):
        yy = top + i * row
        parts.append(
            f'<text x="{left - 6}" y="{yy + 14}" text-anchor="end" font-size="11">'
            f"{escape(label[:9])}</text>"
            f'<rect x="{left}" y="{yy + 3}" width="{total * scale:.1f}" height="14" '
            f'fill="{COLOURS[0]}"><title>{escape(label)}: {total}</title></rect>'
            f'<rect x="{left}" y="{yy + 3}" width="{part * scale:.1f}" height="14" '
            f'fill="{COLOURS[3]}"><title>{escape(label)}: {part}</title></rect>'
            f'<text x="{left + total * scale + 4:.1f}" y="{yy + 14}" font-size="11">'
            f"{total}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
