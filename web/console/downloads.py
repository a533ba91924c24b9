"""The month's 考单 from the console (``/console/report``): xlsx and CSV downloads.

The files are ``reports``' (the same as ``bot.py report`` writes): the workbook with a sheet per
view and every ticket, the CSV with a BOM. The viewer gets the figures of what they may see:
the whole township for the centre (or any grid's subtree), their own grids' subtrees for a
leader or a worker (one file per grid they serve); a department has no grid and no 考单 here.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from flask import Response, abort, g, render_template, request

from cases.kpi_query import this_month
from cases.permissions import Reach
from reports.kpi_export import kpi_csv, kpi_xlsx
from reports.month import MonthReport, load_month_report
from store.clock import utcnow
from web.app_runtime import current_runtime
from web.console import wording as W
from web.console.auth import signed_in, viewer
from web.console.blueprint import bp

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _month(value: str | None) -> str:
    if value is None:
        return this_month(current_runtime().services.calendar.local(utcnow()).date())
    if not _MONTH.match(value):
        abort(400, W.BAD_MONTH)
    return value


def _whole(area: Reach) -> bool:
    """The township's whole 考单: for those who see everything, and for the centre (whose area
    holds the tickets not placed in a grid yet: one township per deployment)."""
    return area.everything or area.unplaced


def grids_offered() -> list[tuple[str, str]]:
    """(code, name) of the subtrees the viewer may download; ``""`` is the whole township."""
    area = viewer().area
    index = current_runtime().services.roster.get(g.db)
    if _whole(area):
        return [("", W.REPORT_ALL)]
    return [(code, index.by_code[code].name) for code in sorted(area.grid_codes)
            if code in index.by_code]


def _allowed(code: str) -> bool:
    """Whether the viewer may have the 考单 of ``code``'s subtree (``""``: the township)."""
    area = viewer().area
    if _whole(area):
        return True
    if not code:
        return False
    index = current_runtime().services.roster.get(g.db)
    node = index.by_code.get(code)
    return node is not None and any(c in area.grid_codes for c in index.path_codes(node.id))


def _report(month: str, code: str) -> MonthReport:
    rt = current_runtime()
    names = {c.code: c.name for c in rt.services.classifier.rules.categories}
    try:
        return load_month_report(g.db, month, rt.services.calendar.tz, grid_code=code or None,
                                 min_cases=rt.settings.report.min_cases, category_names=names,
                                 township=rt.settings.township)
    except LookupError:
        abort(404)


@bp.get("/report")
@signed_in
def report() -> Any:
    month = _month(request.args.get("month"))
    offered = grids_offered()
    if not offered:
        abort(403)
    return render_template("console/report.html", month=month, offered=offered)


@bp.get("/report/<month>.<kind>")
@signed_in
def report_file(month: str, kind: str) -> Any:
    if kind not in ("xlsx", "csv"):
        abort(404)
    month = _month(month)
    code = request.args.get("grid", "").strip()[:64]
    if not _allowed(code):
        abort(403)
    data = _report(month, code)
    if kind == "xlsx":
        body = kpi_xlsx(data)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = kpi_csv(data.kpis)
        mimetype = "text/csv; charset=utf-8"
    name = W.REPORT_FILE.format(township=current_runtime().settings.township, month=month)
    name = f"{name}_{code}.{kind}" if code else f"{name}.{kind}"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"report-{month}{'-' + code if code else ''}.{kind}\"; "
        f"filename*=UTF-8''{quote(name)}")
    return response
