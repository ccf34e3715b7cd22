"""The REST API under load through the real ASGI server: 300 reads, 12 at a time, hold at most
the pool's connections to PostgreSQL (counted in pg_stat_activity while they run), and every
read is answered. Without the pool each request thread opened its own connection (54 seen)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from memory.services.clients import api_client_create
from tests.reliability.conftest import Stack

pytestmark = pytest.mark.django_db(transaction=True)

READS = 300
AT_ONCE = 12
POOL = 8  # fewer than the requests in flight, so the pool, not the load, sets the ceiling


APPLICATION = "rapport-api-load"


def _server_connections(database: str) -> int:
    """The web server's connections to the test database (it names itself APPLICATION)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            [database, APPLICATION],
        )
        return int(cursor.fetchone()[0])


def test_api_reads_hold_at_most_the_pool_s_connections(stack: Stack, make_customer, inbound_sms):
    began = time.monotonic()
    database = connection.settings_dict["NAME"]
    customers = []
    for n in range(6):
        phone = f"+1415555{700 + n:04d}"
        customers.append(make_customer(name=f"Load {n}", phone=phone))
        for turn in range(3):
            inbound_sms(sender=phone, text=f"Question {turn} about order 61{n}{turn}")
    token = api_client_create(
        name="load", scopes="profile,messages,identities", created_by="system:test"
    ).token
    stack.use_database(f"{stack.env['DATABASE_URL']}?application_name={APPLICATION}")
    stack.env.update(
        RAPPORT_DB_POOL_MAX=str(POOL),
        # The watch would (rightly) flag one client reading this fast; not what is measured here.
        RAPPORT_ANOMALY_BURST_MIN_READS="1000000",
        RAPPORT_ANOMALY_DISTINCT_CUSTOMERS="1000000",
    )
    stack.redis_start()  # the cache (rate limits) and the watch's windows
    stack.web_start()
    assert _server_connections(database) <= POOL

    paths = [
        path
        for customer in customers
        for path in (
            f"/api/customers/{customer.pk}/",
            f"/api/customers/{customer.pk}/messages/",
            f"/api/customers/{customer.pk}/conversations/",
        )
    ]
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=AT_ONCE))

    def read(n: int) -> int:
        response = session.get(
            f"http://127.0.0.1:{stack.web_port}{paths[n % len(paths)]}",
            headers={"Authorization": f"Token {token}"},
            timeout=30,
        )
        return response.status_code

    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        try:
            while not done.is_set():
                peak = max(peak, _server_connections(database))
                time.sleep(0.02)
        finally:
            connection.close()  # this thread's own connection

    watcher = threading.Thread(target=watch)
    watcher.start()
    load_began = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
            codes = list(pool.map(read, range(READS)))
    finally:
        done.set()
        watcher.join(timeout=10)
    seconds = time.monotonic() - load_began

    assert not watcher.is_alive()
    failures = {code: codes.count(code) for code in set(codes) if code != 200}
    assert not failures, failures
    assert 0 < peak <= POOL
    print(
        f"\napi load: {READS} reads, {AT_ONCE} at a time, in {seconds:.1f} s; all 200; "
        f"peak {peak} connections to {database} (pool {POOL}); "
        f"{time.monotonic() - began:.1f} s in all"
    )
