"""The 概况 page's figures: questions per day with the share answered, declined and unsure, drawn as SVG here.

Plan questions per day are counted in the tracker store (each run of `action_answer_from_plan`); declines and
unsure answers come from the question log. Only counts are read: no conversation text.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

from . import inbox

DAYS = 14
# Colours with at least 3:1 against white (WCAG non-text contrast); the bars also differ by pattern position.
COLOURS = {"answered": "#1d6b3a", "unsure": "#8a5a00", "declined": "#b3261e"}
LABELS = {"answered": "已回答", "unsure": "回答但不确定", "declined": "无法回答"}


def last_days(today: date, days: int = DAYS) -> list[str]:
    return [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def plan_questions_per_day(trackers_path: Path, days: list[str]) -> dict[str, int]:
    """How many questions went to the knowledge base each day (0 when there is no tracker store yet)."""
    counts = dict.fromkeys(days, 0)
    if not Path(trackers_path).exists():
        return counts
    conn = sqlite3.connect(f"file:{trackers_path}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute(
            "SELECT date(timestamp, 'unixepoch'), count(*) FROM events WHERE type_name = 'action' "
            "AND action_name = 'action_answer_from_plan' AND timestamp >= strftime('%s', ?) GROUP BY 1",
            [days[0]],
        ).fetchall()
    except sqlite3.OperationalError:  # no events table yet
        rows = []
    finally:
        conn.close()
    for day, n in rows:
        if day in counts:
            counts[day] = n
    return counts


def daily_figures(trackers_path: Path, questions_db, today: date) -> list[dict]:
    days = last_days(today)
    asked = plan_questions_per_day(trackers_path, days)
    outcomes = inbox.outcomes_per_day(questions_db, days)
    figures = []
    for day in days:
        declined, unsure = outcomes[day]["declined"], outcomes[day]["unsure"]
        total = max(asked[day], declined + unsure)
        figures.append(
            {"day": day, "total": total, "answered": total - declined - unsure, "unsure": unsure, "declined": declined}
        )
    return figures


def chart_svg(figures: list[dict], width: int = 760, height: int = 260) -> str:
    """Stacked bars, one per day (answered, unsure, declined), as an SVG string safe to put in the page."""
    left, bottom, top = 40, 40, 16
    plot_h = height - bottom - top
    peak = max([f["total"] for f in figures] + [1])
    step = (width - left - 8) / len(figures)
    bar = step * 0.7
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" '
        f'role="img" aria-labelledby="chart-title"><title id="chart-title">每天的问题：已回答、回答但不确定、'
        f"无法回答（数字见下表）</title>"
    ]
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 8}" y2="{y:.1f}" stroke="#767676" stroke-width="0.5"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="#333">'
            f"{round(peak * fraction)}</text>"
        )
    for i, f in enumerate(figures):
        x = left + i * step + (step - bar) / 2
        y = top + plot_h
        for key in ("answered", "unsure", "declined"):
            h = plot_h * f[key] / peak
            if h > 0:
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{COLOURS[key]}"/>'
                )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="12" '
            f'fill="#333">{f["day"][5:]}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
