"""Geometry of the small server-rendered SVG chart on a queue's page: waiting callers and service level today."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 34, 40, 10, 22


def day_chart(series: dict, *, goal_percent: int) -> dict:
    """Coordinates for `templates/queues/_day_chart.html` from `figures.day_series`."""
    start, end = series["start"], series["end"]
    span = max((end - start).total_seconds(), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h

    def x(moment) -> float:
        return round(LEFT + (moment - start).total_seconds() / span * plot_w, 1)

    peak = max([n for _, n in series["waiting"]] + [1])
    line = " ".join(f"{x(t)},{round(base - n / peak * plot_h, 1)}" for t, n in series["waiting"])
    bars = []
    for hour, level, finished in series["service_level"]:
        if level is None:
            continue
        left, right = x(hour), x(min(hour + timedelta(hours=1), end))
        height = round(level / 100 * plot_h, 1)
        state = "ok" if level >= goal_percent else ("warn" if level >= goal_percent - 10 else "bad")
        label = f"{timezone.localtime(hour):%H:%M}: {level:g} % of {finished} answered in time"
        bars.append({"x": left, "y": round(base - height, 1), "width": max(round(right - left - 1, 1), 1), "height": height,
                     "state": state, "label": label})
    ticks = []
    tick = start
    while tick <= end:
        ticks.append({"x": x(tick), "label": f"{timezone.localtime(tick):%H:%M}"})
        tick += timedelta(hours=6)
    waiting_now = series["waiting"][-1][1] if series["waiting"] else 0
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "top": TOP, "base": base,
        "line": line, "bars": bars, "ticks": ticks, "peak": peak, "goal_y": round(base - goal_percent / 100 * plot_h, 1),
        "goal_percent": goal_percent, "now_x": x(series["now"]), "waiting_now": waiting_now,
        "summary": f"Today: at most {peak if any(n for _, n in series['waiting']) else 0} callers waiting at once; "
                   f"{len(bars)} hours with answered callers; service-level goal {goal_percent} %.",
    }
