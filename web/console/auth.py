"""Who is using the console: sign-in with WeCom, the session cookie, CSRF, the viewer.

Sign-in is WeCom's: ``/console/login/wecom`` sends the person to WeCom's authorize page (网页授权
inside WeCom, 扫码登录 elsewhere) with a one-time ``state`` kept in the session; WeCom comes back
to ``/console/auth/callback`` with a code, which ``auth/getuserinfo`` turns into their userid
(``wecom.oauth``). Only active staff of the roster get in. The session is Flask's signed cookie
(``SECRET_KEY``), HttpOnly, SameSite=Lax, Secure unless ``console.secure_cookies`` is off, and
lasts ``console.session_hours``. Every POST carries the session's CSRF token (a hidden field),
checked before any view runs.

Each request's viewer (:class:`Viewer`) is the signed-in person, the core's ``Actor`` for them and
their ``reach`` (``cases.permissions``), which every query of the console is limited by.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from flask import Flask, current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from cases.model import Actor
from cases.permissions import Reach, reach
from cases.service import actor_for
from settings.model import ConsoleSettings
from store.models import Person
from vocab import STAFF_ROLES
from web.app_runtime import current_runtime
from web.console import wording as W
from web.console.blueprint import bp
from wecom.oauth import SignInRefused, authorize_url, qr_login_url, userid_for_code

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)
SESSION_COOKIE = "gridbot_console"


def configure(app: Flask, console: ConsoleSettings, *, demo: bool = False) -> None:
    """Session settings from ``console`` in the settings; ``demo`` shows the person picker."""
    if console.secret_key:
        app.secret_key = console.secret_key
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=console.secure_cookies,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=console.session_hours),
        CONSOLE_DEMO=demo,
    )


@dataclass(frozen=True)
class Viewer:
    """The signed-in person, as the core sees them, and the tickets they may see."""

    person: Person
    actor: Actor
    area: Reach

    @property
    def role(self) -> str:
        return str(self.person.role)


def viewer() -> Viewer:
    return g.viewer  # type: ignore[no-any-return]


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


@bp.before_request
def _guard() -> Any:
    if request.endpoint == "console.static":
        return None
    if not current_app.secret_key:
        return render_template("console/message.html", message=W.CONSOLE_CLOSED), 503
    if request.method == "POST":
        given = request.form.get("csrf_token", "")
        expected = session.get("csrf", "")
        if not given or not expected or not hmac.compare_digest(str(given), str(expected)):
            return render_template("console/message.html", message=W.CSRF_FAILED), 400
    return None


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "W": W}


def signed_in(view: F) -> F:
    """Views for signed-in staff: loads the viewer into ``g``, else off to the sign-in page."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        person_id = session.get("uid")
        if person_id is None:
            return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
        rt = current_runtime()
        db: Session = g.setdefault("db", rt.session_factory())
        person = db.get(Person, person_id)
        if person is None or not person.active or person.role not in STAFF_ROLES:
            session.clear()
            return redirect(url_for("console.login"))
        actor = actor_for(db, person)
        g.viewer = Viewer(person, actor, reach(actor))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@bp.teardown_request
def _close_session(_error: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def _safe_next(target: str | None) -> str:
    """Only a path inside the console (never another site)."""
    if not target:
        return url_for("console.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console"):
        return url_for("console.dashboard")
    return target


@bp.get("/login")
def login() -> Any:
    demo_people: list[Person] = []
    if request.args.get("next"):
        session["next"] = _safe_next(request.args.get("next"))
    if current_app.config.get("CONSOLE_DEMO"):
        with current_runtime().session_factory() as db:
            demo_people = list(db.scalars(
                select(Person).where(Person.role.in_(sorted(STAFF_ROLES)),
                                     Person.active.is_(True)).order_by(Person.id)))
            db.expunge_all()
    return render_template("console/login.html", demo_people=demo_people,
                           error=request.args.get("error"))


def _public_scheme() -> str:
    """The scheme people reach us by: nginx on this host (docs/nginx-gridbot.conf) terminates TLS
    and says so in X-Forwarded-Proto; WeCom must be sent back to that."""
    forwarded = request.headers.get("X-Forwarded-Proto", "")
    if request.remote_addr in ("127.0.0.1", "::1") and forwarded in ("http", "https"):
        return forwarded
    return request.scheme


@bp.get("/login/wecom")
def login_wecom() -> Any:
    """Off to WeCom: 网页授权 inside the WeCom client, else 扫码登录 (``?qr=1`` forces it)."""
    state = session["oauth_state"] = secrets.token_urlsafe(16)
    settings = current_runtime().settings.wecom
    back = url_for("console.auth_callback", _external=True, _scheme=_public_scheme())
    in_wecom = "wxwork" in request.headers.get("User-Agent", "").lower()
    url = (authorize_url(settings, back, state) if in_wecom and not request.args.get("qr")
           else qr_login_url(settings, back, state))
    who = request.args.get("as", "")
    if who and current_app.config.get("CONSOLE_DEMO"):
        # demo only: the simulator's stand-in for "whoever holds the phone"
        url = authorize_url(settings, back, state).replace(
            "#wechat_redirect", "&" + urlencode({"sim_user": who}) + "#wechat_redirect")
    return redirect(url)


@bp.get("/auth/callback")
def auth_callback() -> Any:
    expected = session.pop("oauth_state", None)
    given = request.args.get("state", "")
    if not expected or not hmac.compare_digest(str(expected), given):
        return render_template("console/login.html", demo_people=[], error=W.SIGN_IN_STATE), 400
    rt = current_runtime()
    try:
        userid = userid_for_code(rt.new_sender().client, request.args.get("code", ""))
    except SignInRefused as refused:
        return render_template("console/login.html", demo_people=[],
                               error=W.SIGN_IN_FAILED.format(reason=refused.reason)), 403
    with rt.session_factory() as db:
        person = db.scalar(select(Person).where(Person.userid == userid))
        if person is None or not person.active or person.role not in STAFF_ROLES:
            return render_template("console/login.html", demo_people=[],
                                   error=W.NOT_STAFF.format(userid=userid)), 403
        person_id = person.id
    log.info("console: %s signed in", userid)
    target = _safe_next(session.pop("next", None))
    session.clear()  # a fresh session: nothing carried over from before sign-in
    session.permanent = True
    session["uid"] = person_id
    session["csrf"] = secrets.token_urlsafe(32)
    return redirect(target)


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return render_template("console/message.html", message=W.SIGNED_OUT,
                           link=url_for("console.login"))


@bp.errorhandler(400)
@bp.errorhandler(403)
@bp.errorhandler(404)
@bp.errorhandler(503)
def _error_page(error: HTTPException) -> Any:
    """The console's errors as its own pages, in Chinese."""
    code = error.code or 500
    if code == 400:
        text = W.BAD_REQUEST.format(reason=error.description or "")
    else:
        text = {403: W.FORBIDDEN, 404: W.NOT_FOUND, 503: W.REPORT_UNAVAILABLE}[code]
    return render_template("console/message.html", message=text), code
