"""Redis and then PostgreSQL stopped while SMS arrive, on a PostgreSQL server of the test's own.

With Redis down the webhook still stores each message and answers 200 at once (the sweeper
hands it on later). With PostgreSQL down too, nothing can be stored: Twilio must get a status
it retries (a 5xx), fast, never a hang past its 15 s timeout. Once PostgreSQL is back Twilio's
redelivery of those messages (and a duplicate of one already taken) is stored once; once Redis
is back every stored message is answered exactly once: none lost, none doubled.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests

from orchestrator.models import PipelineRun
from tests.reliability.conftest import PrivatePostgres, Stack, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

# Twilio gives up on a webhook after 15 s; an answer must come well before.
FAST_SECONDS = 5.0
PER_PHASE = 5
FINAL = {str(status) for status in PipelineRun.FINAL_STATUSES}


def _redeliver(stack: Stack, params: dict[str, str], *, attempts: int = 4) -> list[int]:
    """Twilio's redelivery of one webhook (the same MessageSid and body): again, a second
    apart, until a 2xx or `attempts` are spent. The status of each attempt."""
    codes: list[int] = []
    for _ in range(attempts):
        _, response, _ = stack.sms(**params)
        codes.append(response.status_code)
        if response.ok:
            break
        time.sleep(1)
    return codes


def test_redis_then_postgresql_down_lose_nothing_and_double_nothing(
    private_postgres: PrivatePostgres, stack: Stack
):
    began = time.monotonic()
    db = private_postgres
    stack.use_database(db.url)
    stack.redis_start()
    stack.web_start()
    stack.worker_start()

    def numbers(first: int) -> list[str]:
        return [f"+1415555{n:04d}" for n in range(first, first + PER_PHASE)]

    # All up: answered as usual.
    normal = [stack.sms(From=n, Body=f"Order 51{i} is late") for i, n in enumerate(numbers(400))]
    assert [r.status_code for _, r, _ in normal] == [200] * PER_PHASE

    # Redis down: stored, 200 at once; nothing can be handed on yet.
    stack.redis_stop()
    no_broker = [stack.sms(From=n, Body=f"Order 52{i} is late") for i, n in enumerate(numbers(500))]
    assert [r.status_code for _, r, _ in no_broker] == [200] * PER_PHASE
    broker_slowest = max(seconds for _, _, seconds in no_broker)

    # PostgreSQL down too: nothing can be stored, so a status Twilio retries, and fast.
    db.stop()
    no_database = [
        stack.sms(From=n, Body=f"Order 53{i} is late") for i, n in enumerate(numbers(600))
    ]
    down_codes = [r.status_code for _, r, _ in no_database]
    database_slowest = max(seconds for _, _, seconds in no_database)
    try:
        health = requests.get(f"http://127.0.0.1:{stack.web_port}/healthz", timeout=15)
        health_code = health.status_code
    except requests.RequestException:
        health_code = 0
    print(
        f"\ndatabase down: {down_codes}, {[round(s, 2) for _, _, s in no_database]} s, "
        f"healthz {health_code}"
    )
    assert all(code in (502, 503, 504) for code in down_codes), down_codes
    # The first request of the outage may wait out the pool (RAPPORT_DB_POOL_TIMEOUT, 3 s)
    # before the breaker opens; the ones after it are refused at once.
    assert database_slowest < FAST_SECONDS, f"{database_slowest:.1f} s with PostgreSQL down"
    assert sorted(seconds for _, _, seconds in no_database)[-2] < 1.5
    assert health_code == 503

    # PostgreSQL back: Twilio redelivers what it was refused, and (as it may) a message it
    # already got an answer for.
    db.start()
    redelivered = {params["MessageSid"]: _redeliver(stack, params) for params, _, _ in no_database}
    duplicate = no_broker[0][0]
    redelivered[duplicate["MessageSid"]] = _redeliver(stack, duplicate)
    assert all(codes[-1] == 200 for codes in redelivered.values()), redelivered

    accepted = [p["MessageSid"] for p, _, _ in normal + no_broker + no_database]
    deliveries = db.query(
        "SELECT provider_id FROM channels_app_inbounddelivery WHERE channel = 'sms' "
        "AND provider_id = ANY(%s)",
        (accepted,),
    )
    lost = sorted(set(accepted) - {str(sid) for (sid,) in deliveries})
    assert not lost, f"{len(lost)} accepted message(s) lost"
    assert len(deliveries) == len(accepted)  # none stored twice

    # Redis back: the sweepers record what was stored meanwhile (deliveries whose task Redis
    # lost) and hand on every message; each recorded once and answered once.
    stack.redis_start()

    def messages() -> list[tuple[object, ...]]:
        return db.query(
            "SELECT provider_id, id FROM memory_message WHERE channel = 'sms' "
            "AND direction = 'inbound' AND provider_id = ANY(%s)",
            (accepted,),
        )

    wait_until(lambda: len(messages()) >= len(accepted), seconds=40, what="every delivery recorded")
    rows = messages()
    assert len(rows) == len(accepted)  # none recorded twice
    inbound_ids = [int(pk) for _, pk in rows]  # type: ignore[call-overload]

    def runs() -> list[tuple[object, ...]]:
        return db.query(
            "SELECT inbound_message_id, status FROM orchestrator_pipelinerun "
            "WHERE inbound_message_id = ANY(%s)",
            (inbound_ids,),
        )

    def all_final() -> bool:
        found = runs()
        return len(found) == len(inbound_ids) and all(status in FINAL for _, status in found)

    wait_until(all_final, seconds=60, what="every stored message answered", every=0.5)

    def replies_in_flight() -> int:
        rows = db.query(
            "SELECT count(*) FROM memory_message WHERE direction = 'outbound' "
            "AND delivery_status IN ('pending', 'sending')"
        )
        return int(rows[0][0])  # type: ignore[call-overload]

    # Every reply delivered or visibly failed, none left on the way.
    wait_until(lambda: replies_in_flight() == 0, seconds=20, what="every reply settled")
    time.sleep(2)  # a few more sweeps: none may answer a message twice

    per_message_runs = Counter(message_id for message_id, _ in runs())
    replies = Counter(
        in_reply_to
        for (in_reply_to,) in db.query(
            "SELECT (channel_metadata->>'in_reply_to')::bigint FROM memory_message "
            "WHERE direction = 'outbound' AND channel_metadata ? 'in_reply_to'"
        )
    )
    doubled_runs = sum(count > 1 for count in per_message_runs.values())
    doubled_replies = sum(replies[pk] > 1 for pk in inbound_ids)
    replied = sum(status == PipelineRun.Status.REPLIED for _, status in runs())
    assert doubled_runs == 0
    assert doubled_replies == 0
    assert sum(replies[pk] for pk in inbound_ids) == replied  # a reply for each run that wrote one
    print(
        f"\nredis then postgresql down: {len(accepted)} messages, slowest answer "
        f"{broker_slowest:.2f} s without Redis, {database_slowest:.2f} s without PostgreSQL "
        f"(codes {down_codes}); redeliveries {list(redelivered.values())}; {len(lost)} lost, "
        f"{doubled_runs + doubled_replies} doubled, {len(inbound_ids)} runs, {replied} replies; "
        f"{time.monotonic() - began:.1f} s in all"
    )
