"""Charts as inline SVG, made on the server: no script, no library, the theme's colours by CSS class.

Horizontal positions are percentages, so a chart fills any width (1280 px or a 400 px window)
while its text keeps its size; heights are fixed pixels. Every chart has a text alternative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from mantissa_log.domain.common import SEVERITIES


@dataclass(frozen=True)
class Bucket:
    label: str  # shown under the axis (every few buckets)
    title: str  # the tooltip's time range
    counts: dict[str, int]  # severity -> alerts

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _nice_max(value: int) -> int:
    """The axis top: 1, 2, 5, 10, 20, 50, ... at or above `value`."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if top * step >= value:
                return top * step
        top *= 10


def _svg(text: str) -> Markup:
    """Markup we built ourselves: numbers we formatted and text passed through `escape`."""
    return Markup(text)  # noqa: S704 - see above: nothing unescaped goes in


def _pct(value: float) -> str:
    return f"{value:.3f}%"


def stacked_bars(buckets: Sequence[Bucket], *, height: int = 168, label_every: int = 1, caption: str = "") -> Markup:
    """Alerts per time bucket, stacked by severity (most severe on top)."""
    plot_top, plot_bottom = 14, height - 22
    plot = plot_bottom - plot_top
    top = _nice_max(max((b.total for b in buckets), default=0))
    count = max(len(buckets), 1)
    slot = 100.0 / count
    bar = slot * 0.72
    parts = [f'<svg class="chart chart-bars" width="100%" height="{height}" role="img" aria-label="{escape(caption)}">']
    for step in range(0, 5):
        value = top * step / 4
        if value != int(value) and top < 4:
            continue
        y = plot_bottom - plot * step / 4
        parts.append(f'<line class="grid" x1="0" x2="100%" y1="{y:.1f}" y2="{y:.1f}"/>')
        if step:
            parts.append(f'<text class="axis" x="0" y="{y - 3:.1f}">{int(value)}</text>')
    for index, bucket in enumerate(buckets):
        x = slot * index + (slot - bar) / 2
        detail = ", ".join(f"{bucket.counts[s]} {s}" for s in SEVERITIES if bucket.counts.get(s))
        parts.append(f"<g><title>{escape(bucket.title)}: {escape(detail or 'no alerts')}</title>")
        parts.append(
            f'<rect class="hit" x="{_pct(slot * index)}" y="{plot_top}" width="{_pct(slot)}" height="{plot}"/>'
        )
        y = float(plot_bottom)
        for severity in reversed(SEVERITIES):
            value = bucket.counts.get(severity, 0)
            if not value:
                continue
            h = plot * value / top
            y -= h
            tall = max(h, 1.5)
            parts.append(
                f'<rect class="fill-{severity}" x="{_pct(x)}" y="{y:.1f}" width="{_pct(bar)}" '
                f'height="{tall:.1f}" rx="1.5"/>'
            )
        parts.append("</g>")
        if index % label_every == 0:
            parts.append(
                f'<text class="axis" x="{_pct(slot * index + slot / 2)}" y="{height - 6}" text-anchor="middle">'
                f"{escape(bucket.label)}</text>"
            )
    parts.append("</svg>")
    return _svg("".join(parts))


def meter(value: float, top: float, css: str, *, height: int = 8) -> Markup:
    """One horizontal bar, `value` out of `top`, for lists whose labels are links (keyboard-reachable)."""
    share = 0.0 if top <= 0 else max(min(value / top, 1.0), 0.0)
    return _svg(
        f'<svg class="meter" width="100%" height="{height}" aria-hidden="true">'
        f'<rect class="track" x="0" y="0" width="100%" height="{height}" rx="{height / 2}"/>'
        f'<rect class="{escape(css)}" x="0" y="0" width="{_pct(share * 100)}" height="{height}" rx="{height / 2}"/>'
        "</svg>"
    )


def sparkline(counts: Sequence[int], *, height: int = 26, caption: str = "") -> Markup:
    """Events per bucket as a filled line; the line keeps its width however the chart is stretched."""
    n = len(counts)
    if n == 0:
        return _svg("")
    top = max(max(counts), 1)
    width = max(n - 1, 1)
    points = " ".join(f"{i},{height - 2 - (height - 4) * c / top:.2f}" for i, c in enumerate(counts))
    area = f"0,{height} {points} {width},{height}"
    return _svg(
        f'<svg class="spark" viewBox="0 0 {width} {height}" preserveAspectRatio="none" width="100%" '
        f'height="{height}" role="img" aria-label="{escape(caption)}">'
        f'<polygon class="spark-area" points="{area}"/>'
        f'<polyline class="spark-line" points="{points}" vector-effect="non-scaling-stroke"/>'
        "</svg>"
    )
