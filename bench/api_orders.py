"""Orders through the API: intake throughput and latency, an idempotent burst, ticket pages.

Serves GridBot with its production server (waitress, 8 threads) on a fresh database and prints:

* ``POST /api/v1/tickets``: N distinct orders from C client threads — orders/s, median and p99 ms
  (each is classified, placed by its address, opened, dispatched in chat, webhooks queued);
* a burst of R concurrent repeats of one order: how many tickets (must be 1) and the wall time;
* ``GET /api/v1/tickets?limit=50`` over the result, and ``GET /open311/v2/requests.json``:
  median and p99 ms.

    python bench/api_orders.py                        # N=400 C=8 R=50 on a temporary SQLite file
    python bench/api_orders.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from runtime.build import build_runtime  # noqa: E402
from runtime.database import prepare_database  # noqa: E402
from settings import load_settings  # noqa: E402
from store.api_clients import add_client  # noqa: E402
from store.db import transaction  # noqa: E402
from store.models import Ticket  # noqa: E402
from web import create_app  # noqa: E402
from web.server import make_server  # noqa: E402

TEXTS = ["小区门口的路灯坏了好几天，晚上很黑", "楼道里堆满了杂物，堵住了消防通道", "楼上漏水到我家卫生间",
         "垃圾好几天没人清运了，臭味很大", "半夜施工噪音太大，影响休息", "独居老人好几天没出门了"]
ADDRESSES = ["东顺苑第一网格3号楼", "湖畔花园5栋", "西湖社区菜场旁", "东顺苑7-9号楼联防组门口", "人民路88号"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(call) -> tuple[float, requests.Response]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    response = call()
    return (time.perf_counter() - start) * 1000, response


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("-n", type=int, default=400, help="distinct orders")
    parser.add_argument("-c", type=int, default=8, help="client threads")
    parser.add_argument("-r", type=int, default=50, help="concurrent repeats of one order")
    args = parser.parse_args()

    schema = None
    if args.database_url and args.database_url.startswith("postgresql"):
        schema = f"bench_api_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{args.database_url}?options=-csearch_path%3D{schema}"
    else:
        url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    settings = dataclasses.replace(load_settings(ROOT / "config.yaml"), database_url=url)
    engine = prepare_database(settings, migrate=True)
    runtime = build_runtime(settings, engine=engine)
    server = make_server(create_app(runtime), host="127.0.0.1", port=0, threads=8)
    base = f"http://127.0.0.1:{server.effective_port}"
    threading.Thread(target=server.run, daemon=True).start()
    with transaction(runtime.session_factory) as session:
        token = add_client(session, name="bench", source="12345", rate_limit=10**6,
                           scopes={"tickets:read", "tickets:write"},
                           webhook_url="http://127.0.0.1:9/hook").token
    http = threading.local()

    def post(body: dict) -> tuple[float, requests.Response]:
        if not hasattr(http, "session"):
            http.session = requests.Session()
            http.session.headers["Authorization"] = f"Bearer {token}"
        return timed(lambda: http.session.post(f"{base}/api/v1/tickets", json=body, timeout=30))

    try:
        orders = [{"external_id": f"B{i}", "text": TEXTS[i % len(TEXTS)],
                   "address": ADDRESSES[i % len(ADDRESSES)]} for i in range(args.n)]
        start = time.perf_counter()
        with ThreadPoolExecutor(args.c) as pool:
            results = list(pool.map(post, orders))
        wall = time.perf_counter() - start
        latencies = [ms for ms, _ in results]
        assert all(r.status_code == 201 for _, r in results), {r.status_code for _, r in results}
        print(f"database: {url.split('://')[0]}; POST /api/v1/tickets: {args.n} orders, C={args.c}: "
              f"{args.n / wall:.0f} orders/s, median {statistics.median(latencies):.1f} ms, "
              f"p99 {percentile(latencies, 0.99):.1f} ms")
        start = time.perf_counter()
        with ThreadPoolExecutor(args.r) as pool:
            burst = list(pool.map(post, [{"external_id": "BURST", "text": TEXTS[0],
                                          "address": ADDRESSES[0]}] * args.r))
        wall = time.perf_counter() - start
        with transaction(runtime.session_factory) as session:
            tickets = session.scalar(select(func.count()).select_from(Ticket)
                                     .where(Ticket.external_id == "BURST"))
        codes = sorted({r.status_code for _, r in burst})
        print(f"{args.r} concurrent repeats of one order: {tickets} ticket, answers {codes}, "
              f"{wall * 1000:.0f} ms wall")
        reads: dict[str, list[float]] = {"GET /api/v1/tickets?limit=50": [],
                                         "GET /open311/v2/requests.json": []}
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        for _ in range(30):
            ms, _r = timed(lambda: session.get(f"{base}/api/v1/tickets?limit=50", timeout=30))
            reads["GET /api/v1/tickets?limit=50"].append(ms)
            ms, _r = timed(lambda: session.get(f"{base}/open311/v2/requests.json", timeout=30))
            reads["GET /open311/v2/requests.json"].append(ms)
        for name, values in reads.items():
            print(f"{name} ({args.n + 1} tickets): median {statistics.median(values):.1f} ms, "
                  f"p99 {percentile(values, 0.99):.1f} ms")
    finally:  # the server's daemon thread ends with the process
        runtime.close()
        engine.dispose()
        if schema is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
