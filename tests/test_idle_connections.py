"""`serve` keeps answering WeCom while hundreds of idle or half-sent connections are held open.

WeCom gives a callback 5 s. Idle keep-alive sockets, port scanners and slow clients cost waitress
a socket each, not a request thread; past its connection limit it stopped accepting, and a valid
callback waited in the backlog until an idle connection timed out (issue 11: 110 idle
connections made a callback wait 12 s). Here GridBot runs in the production server built by
``web.server.make_server`` from config.yaml's ``server`` section, on a real port.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from settings import Settings
from web.server import make_server
from wecom.simulator import CallbackClient
from wecom.simulator.payloads import app_text

IDLE = 200  # connected, nothing sent
HALF_SENT = 30  # a request line and headers promising a body that never comes, or half a header


def _run(server) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    """Run a waitress server in a thread; the returned stop() closes it and joins the thread."""
    thread = threading.Thread(target=server.run, name="waitress-under-test", daemon=True)
    thread.start()

    def stop() -> None:
        server.trigger.pull_trigger(lambda: server.asyncore.close_all(server._map))
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()

    return stop


@pytest.fixture
def served(settings: Settings, engine) -> Iterator[tuple[Settings, object, int]]:  # type: ignore[no-untyped-def]
    """GridBot's app in the production server: ``(settings, server, port)``."""
    from runtime import build_runtime
    from web import create_app

    runtime = build_runtime(settings, engine=engine)
    server = make_server(create_app(runtime), host="127.0.0.1", port=0, threads=4,
                         options=settings.server)
    stop = _run(server)
    yield settings, server, server.effective_port
    stop()
    runtime.close()


def _open_connections(port: int) -> list[socket.socket]:
    sockets: list[socket.socket] = []
    for _ in range(IDLE):
        sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    for index in range(HALF_SENT):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if index % 2:
            sock.sendall(b"POST /wecom/callback?msg_signature=x&timestamp=1&nonce=2 HTTP/1.1\r\n"
                         b"Host: grid.example.cn\r\nContent-Type: text/xml\r\n"
                         b"Content-Length: 4000\r\n\r\n<xml><ToUserName>")
        else:
            sock.sendall(b"POST /wecom/callback HTTP/1.1\r\nHost: grid.exa")
        sockets.append(sock)
    return sockets


def _still_open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""  # data, which none of them is sent
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def test_valid_callbacks_are_answered_at_once_while_hundreds_of_connections_idle(served):
    settings, server, port = served
    sockets = _open_connections(port)
    try:
        deadline = time.monotonic() + 2
        while len(server._map) < IDLE + HALF_SENT and time.monotonic() < deadline:
            time.sleep(0.05)  # until waitress has accepted them all (its map: one per socket)
        w = settings.wecom
        client = CallbackClient(f"http://127.0.0.1:{port}", w.token, w.encoding_aes_key,
                                w.corp_id, agent_id=w.agent_id, answer_timeout=5.0,
                                max_deliveries=1)
        for number in range(10):
            client.http = requests.Session()  # a new connection each time
            delivery = client.send_app_xml(
                "/wecom/callback", app_text("zhangsan", f"楼道灯坏了 {number}", 9100 + number))
            assert delivery.status == 200, delivery.last
            assert delivery.last.elapsed < 1.0, delivery.last
        assert sum(_still_open(sock) for sock in sockets) == IDLE + HALF_SENT
    finally:
        for sock in sockets:
            sock.close()


def test_an_idle_or_stalled_connection_is_closed_after_the_channel_timeout(settings, engine):
    from runtime import build_runtime
    from web import create_app

    quick = dataclasses.replace(settings.server, channel_timeout_seconds=1,
                                cleanup_interval_seconds=1)
    runtime = build_runtime(settings, engine=engine)
    server = make_server(create_app(runtime), host="127.0.0.1", port=0, threads=2, options=quick)
    stop = _run(server)
    try:
        idle = socket.create_connection(("127.0.0.1", server.effective_port), timeout=10)
        stalled = socket.create_connection(("127.0.0.1", server.effective_port), timeout=10)
        stalled.sendall(b"POST /wecom/callback HTTP/1.1\r\nContent-Length: 100\r\n\r\n<xml>")
        started = time.monotonic()
        assert idle.recv(1) == b""  # closed by the server
        assert stalled.recv(1) == b""
        assert time.monotonic() - started < 5
        idle.close()
        stalled.close()
    finally:
        stop()
        runtime.close()
