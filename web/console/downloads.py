"""The month's 考单 from the console (``/console/report``): xlsx and CSV downloads.

The files are made by the report exports the command line uses (``bot.py report``), handed to
:func:`web.create_app` by the caller (the web layer sits below ``cli``); without them the page
says the downloads are unavailable. The viewer gets the figures of what they may see: the whole
township for the centre, their grids' subtree for a leader or a worker.
"""

from __future__ import annotations

import re
from typing import Any, Protocol
from urllib.parse import quote

from flask import Response, abort, current_app, g, render_template, request

from cases.kpi import KpiReport, kpi_rows
from cases.kpi_query import load_facts, month_bounds, this_month
from store.clock import utcnow
from web.app_runtime import current_runtime
from web.console import wording as W
from web.console.auth import signed_in, viewer
from web.console.blueprint import bp

EXPORTS = "gridbot_console_exports"
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class ReportExports(Protocol):
    """Turns a month's KPI report into file contents."""

    def csv(self, report: KpiReport) -> bytes: ...  # UTF-8 with a BOM

    def xlsx(self, report: KpiReport, title: str) -> bytes: ...


def _month(value: str | None) -> str:
    if value is None:
        return this_month(current_runtime().services.calendar.local(utcnow()).date())
    if not _MONTH.match(value):
        abort(400, W.BAD_MONTH)
    return value


def _report(month: str) -> tuple[KpiReport, str]:
    """The month's 考单 over what the viewer may see (403 when that is no grid at all)."""
    rt = current_runtime()
    start, end = month_bounds(month, rt.services.calendar.tz)
    area = viewer().area
    if area.everything:
        facts = load_facts(g.db, start, end)
    elif area.grid_codes:
        seen: dict[int, Any] = {}
        for code in sorted(area.grid_codes):
            for fact in load_facts(g.db, start, end, code):
                seen.setdefault(fact.ticket_id, fact)
        facts = [seen[k] for k in sorted(seen)]
    else:
        abort(403)
    report = kpi_rows(facts, rt.settings.report.min_cases)
    title = W.REPORT_FILE.format(township=rt.settings.township, month=month)
    return report, title


@bp.get("/report")
@signed_in
def report() -> Any:
    month = _month(request.args.get("month"))
    available = current_app.extensions.get(EXPORTS) is not None
    return render_template("console/report.html", month=month, available=available)


@bp.get("/report/<month>.<kind>")
@signed_in
def report_file(month: str, kind: str) -> Any:
    exports: ReportExports | None = current_app.extensions.get(EXPORTS)
    if kind not in ("xlsx", "csv"):
        abort(404)
    if exports is None:
        abort(503)
    month = _month(month)
    data, title = _report(month)
    if kind == "xlsx":
        body = exports.xlsx(data, title)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = exports.csv(data)
        mimetype = "text/csv; charset=utf-8"
    name = f"{title}.{kind}"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"report-{month}.{kind}\"; filename*=UTF-8''{quote(name)}")
    return response
