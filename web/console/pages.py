"""The console's read pages: the dashboard (``/console/``) and the ticket list
(``/console/tickets``), each limited to what the viewer may see."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, current_app, g, render_template, request

from cases import wording as core_texts
from cases.model import Status
from cases.ticket_search import (
    TicketFilter,
    months_back,
    search,
    today_counts,
)
from notify.tickets import format_deadline, format_time
from store.clock import utcnow
from web.app_runtime import current_runtime
from web.console import wording as W
from web.console.auth import signed_in, viewer
from web.console.blueprint import bp
from web.console.charts import Series, bar_chart, line_chart

FIGURES = "gridbot_console_figures"
BARS = 20  # grids in the bar chart (the table lists them all)
RATES = (("resolution_rate", W.RESOLUTION_RATE), ("on_time_rate", W.ON_TIME_RATE),
         ("satisfaction_rate", W.SATISFACTION_RATE), ("mediation_rate", W.MEDIATION_RATE))


def percent(value: float | None) -> str:
    return W.NO_DATA if value is None else f"{value * 100:.1f}%"


def change(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return W.NO_DATA
    points = (now - before) * 100
    return f"{'+' if points >= 0 else ''}{points:.1f}"


@bp.app_template_filter("percent")
def _percent(value: float | None) -> str:
    return percent(value)


@bp.get("/")
@signed_in
def dashboard() -> Any:
    rt = current_runtime()
    db = g.db
    calendar = rt.services.calendar
    now = utcnow()
    index = rt.services.roster.get(db)
    area = viewer().area
    today = today_counts(db, index, area, now)
    months = months_back(calendar.local(now).date(), 12)
    figures = current_app.extensions[FIGURES].figures(db, index, area, months, calendar.tz)
    this, last = figures[-1], figures[-2]
    rates = [(label, percent(getattr(this, name)), percent(getattr(last, name)),
              change(getattr(this, name), getattr(last, name))) for name, label in RATES]
    trend = line_chart(months, [Series(label, [getattr(f, name) for f in figures])
                                for name, label in RATES], title=W.TREND_TITLE)
    top = today.grids[:BARS]  # the most open first
    bars = bar_chart([c.name for c in top], [c.open for c in top], [c.overdue for c in top],
                     title=W.BARS_TITLE, total_name=W.OPEN, highlight_name=W.OVERDUE)
    return render_template("console/dashboard.html", today=today, rates=rates, this=this,
                           last=last, trend=trend, bars=bars,
                           bars_note=W.BARS_TOP.format(count=BARS) if len(today.grids) > BARS
                           else "")


def _date(name: str) -> date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, W.BAD_DATE)


STATUS_CHOICES = [("", W.ALL), ("open", W.OPEN_ONLY),
                  *((s.value, core_texts.STATUS_LABELS[s]) for s in Status)]


def wanted_filter() -> TicketFilter:
    args = request.args
    page = args.get("page", "1")
    return TicketFilter(
        status=args.get("status", "") if args.get("status", "") in dict(STATUS_CHOICES) else "",
        grid=args.get("grid", "").strip()[:64],
        category=args.get("category", "").strip()[:32],
        overdue=args.get("overdue") == "1",
        urgent=args.get("urgent") == "1",
        mine=args.get("mine") == "1",
        since=_date("since"),
        until=_date("until"),
        text=args.get("q", "").strip()[:100],
        page=int(page) if page.isdigit() and len(page) < 7 else 1,
    )


def grid_choices(index: Any) -> list[tuple[str, str]]:
    """The grid tree as (code, indented name), root first."""
    out: list[tuple[str, str]] = []
    roots = [g for g in index.grids.values() if g.parent_id is None]

    def walk(node: Any, depth: int) -> None:
        out.append((node.code, "　" * depth + node.name))
        for child in sorted(index.children.get(node.id, ()), key=lambda i: index.grids[i].code):
            walk(index.grids[child], depth + 1)

    for root in sorted(roots, key=lambda r: r.code):
        walk(root, 0)
    return out


def category_choices() -> list[tuple[str, str]]:
    rules = current_runtime().services.classifier.rules
    return [(c.code, c.name) for c in rules.categories]


@bp.get("/tickets")
@signed_in
def tickets() -> Any:
    rt = current_runtime()
    db = g.db
    calendar = rt.services.calendar
    now = utcnow()
    index = rt.services.roster.get(db)
    wanted = wanted_filter()
    found = search(db, index, viewer().area, wanted, now=now, tz=calendar.tz)
    classifier = rt.services.classifier
    rows = []
    for ticket in found.tickets:
        due = found.due.get(ticket.id)
        rows.append({
            "id": ticket.id,
            "category": classifier.category_name(ticket.category),
            "text": ticket.text if len(ticket.text) <= 40 else ticket.text[:39] + "…",
            "grid": ticket.grid.name if ticket.grid else W.UNPLACED,
            "status": core_texts.STATUS_LABELS[Status(ticket.status)],
            "handler": ticket.assignee.name if ticket.assignee else W.NOBODY,
            "due": format_deadline(ticket, due, calendar) if due else W.NO_DATA,
            "overdue": due is not None and due < now,
            "urgent": ticket.urgent,
            "created": format_time(ticket.created_at, calendar.tz),
        })
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "console/tickets.html", rows=rows, found=found, wanted=wanted, args=args,
        statuses=STATUS_CHOICES, grids=grid_choices(index), categories=category_choices())
