"""Liveness and readiness: ``/healthz`` (the process answers) and ``/readyz`` (the DB answers)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from web.app_runtime import current_runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():  # type: ignore[no-untyped-def]
    try:
        with current_runtime().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # readiness must answer, whatever the database does
        return jsonify(status="unavailable", error=type(error).__name__), 503
    return jsonify(status="ok")
