"""Shared by the console's tests: GridBot with its console on the sample township, sign-in
through the simulator's WeCom authorize page, and a few tickets reported in chat."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from flask import Flask
from flask.testing import FlaskClient

from settings import Settings
from settings.model import ConsoleSettings

SECRET = "test-console-secret-0123456789abcdef"
HTTPS = "https://console.test"

# Three tickets in chat: 东顺苑第一网格 (李娟), 西湖第一网格 (陈静), and an urgent one in 东顺苑.
REPORTS = (
    ("zhangsan", "wrDSY1", "我家门口的下水道堵了，污水都冒到路面上了"),
    ("wangwu", "wrXH1", "楼道里堆满了杂物，3栋2单元，消防通道都堵了"),
    ("zhangsan", "wrDSY1", "楼下着火了，快来人"),
)


def console_settings(settings: Settings, sim_url: str, *, secure: bool = True) -> Settings:
    return dataclasses.replace(
        settings, wecom=dataclasses.replace(settings.wecom, api_base=sim_url),
        console=ConsoleSettings(secret_key=SECRET, secure_cookies=secure))


def console_app(runtime: Any) -> Flask:
    from web import create_app

    app = create_app(runtime, demo=True)
    app.config["TESTING"] = True
    return app


def authorize(client: FlaskClient, userid: str, *, next_path: str = "") -> str:
    """Start the sign-in as ``userid`` and follow WeCom's authorize page (the simulator):
    returns the callback path with the code and state WeCom sends back."""
    if next_path:
        client.get(f"/console/login?next={next_path}")
    start = client.get(f"/console/login/wecom?as={userid}")
    assert start.status_code == 302, start.data
    sim = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    assert sim.status_code == 302, sim.text
    back = urlsplit(sim.headers["Location"])
    return f"{back.path}?{back.query}"


def sign_in(client: FlaskClient, userid: str) -> Any:
    return client.get(authorize(client, userid))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def csrf_of(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        return str(session["csrf"])


def https_client(app: Flask) -> FlaskClient:
    """A test client whose requests come over HTTPS (as behind the production proxy)."""
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    client.environ_base["HTTP_HOST"] = urlsplit(HTTPS).netloc
    return client
