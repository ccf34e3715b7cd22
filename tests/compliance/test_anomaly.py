"""The watch on agents: each kind of anomaly quarantines the agent in the same request, its
next read is refused, supervisors are alerted, the audit trail says why and how fast; both
with the windows in Redis and counted from the database."""

from __future__ import annotations

import statistics

import pytest
from django.conf import settings as django_settings

from memory.actors import AgentActor, Partition
from memory.models import AuditEntry
from memory.selectors import ContextAccessRefused, context_read
from orchestrator.anomaly import AnomalyKind
from orchestrator.models import AgentConfig
from tests.compliance.conftest import builtin_actor

pytestmark = pytest.mark.django_db

# Detection delays (ms) per kind and store, printed at the end of the module (`pytest -s`).
DELAYS: dict[str, list[float]] = {}
STORES = ["redis", "database"] if django_settings.REDIS_URL else ["database"]


@pytest.fixture(params=STORES)
def store(request, settings):
    settings.RAPPORT_ANOMALY_REDIS_URL = settings.REDIS_URL if request.param == "redis" else ""
    settings.RAPPORT_ANOMALY_REFUSED_READS = 3
    settings.RAPPORT_ANOMALY_DISTINCT_CUSTOMERS = 5
    settings.RAPPORT_ANOMALY_BURST_MIN_READS = 10
    return request.param


@pytest.fixture(scope="module", autouse=True)
def _delays_reported():
    yield
    for kind, delays in sorted(DELAYS.items()):
        print(
            f"\ndetection delay {kind}: median {statistics.median(delays):.2f} ms, "
            f"max {max(delays):.2f} ms over {len(delays)}"
        )


def quarantine_checked(agent: AgentActor, kind: AnomalyKind, alerts, store: str) -> AgentConfig:
    config = AgentConfig.objects.get(name=agent.name)
    assert config.quarantined and config.quarantine_kind == kind.value
    assert config.quarantine_detection_ms is not None
    assert config.quarantine_detection_ms < 1000
    DELAYS.setdefault(f"{kind.value} ({store})", []).append(config.quarantine_detection_ms)
    why = AuditEntry.objects.get(
        actor_label="system:anomaly-watch", purpose__startswith=f"quarantine agent {agent.name}"
    )
    assert why.additional_data["anomaly"] == kind.value
    assert why.seq is not None
    assert [(event, payload["agent"], groups) for event, payload, groups in alerts] == [
        ("agent.quarantined", agent.name, ("supervisors",))
    ]
    return config


def next_read_refused(agent: AgentActor, customer, correlation: str = "") -> None:
    with pytest.raises(ContextAccessRefused, match="quarantined"):
        context_read(
            actor=agent,
            customer=customer,
            partitions=sorted(agent.scopes)[:1],
            purpose="after quarantine",
            correlation_id=correlation,
        )


def test_reads_outside_scope_quarantine_the_agent(store, customer, run_behind, alerts):
    agent = builtin_actor("sentiment")
    correlation = run_behind()
    for _ in range(3):
        with pytest.raises(ContextAccessRefused):
            context_read(
                actor=agent,
                customer=customer,
                partitions=["messages"],
                purpose="peek",
                correlation_id=correlation,
            )
    quarantine_checked(agent, AnomalyKind.OUT_OF_SCOPE, alerts, store)
    next_read_refused(agent, customer, correlation)


def test_many_distinct_customers_quarantine_the_agent(store, make_customer, alerts):
    crawler = AgentActor(name="crawler", scopes=frozenset({Partition.PROFILE}))
    customers = [make_customer(name=f"Person {n}") for n in range(6)]
    for customer in customers:
        context_read(actor=crawler, customer=customer, partitions=["profile"], purpose="list")
    quarantine_checked(crawler, AnomalyKind.MANY_CUSTOMERS, alerts, store)
    next_read_refused(crawler, customers[0])


def test_a_burst_far_above_the_usual_rate_quarantines_the_agent(store, customer, alerts):
    greedy = AgentActor(name="greedy", scopes=frozenset({Partition.PROFILE}))
    for _ in range(11):
        context_read(actor=greedy, customer=customer, partitions=["profile"], purpose="again")
    quarantine_checked(greedy, AnomalyKind.BURST, alerts, store)
    next_read_refused(greedy, customer)


def test_a_read_with_no_pipeline_run_behind_it_quarantines_the_agent(
    store, customer, run_behind, alerts
):
    agent = builtin_actor("intent")
    context_read(
        actor=agent,
        customer=customer,
        partitions=["messages"],
        purpose="read on its own",
        correlation_id="message:999999",
    )
    quarantine_checked(agent, AnomalyKind.NO_RUN_BEHIND, alerts, store)
    next_read_refused(agent, customer, run_behind())


def test_a_run_of_another_customer_is_no_run_behind(store, make_customer, run_behind, alerts):
    other = make_customer(name="Bo", phone="+14155550123")
    correlation = run_behind(sender="+14155550123")
    ana = make_customer(name="Ana", phone="+14155550124")
    context_read(
        actor=builtin_actor("intent"),
        customer=ana,
        partitions=["messages"],
        purpose="borrowed run",
        correlation_id=correlation,
    )
    assert other.pk != ana.pk
    assert AgentConfig.objects.get(name="intent").quarantine_kind == AnomalyKind.NO_RUN_BEHIND


def test_normal_pipeline_traffic_quarantines_nobody(store, say, alerts):
    from orchestrator import pipeline

    for n in range(4):
        pipeline.message_process(message_id=say(f"where is my order 8812{n}?").pk)
    assert not AgentConfig.objects.filter(quarantined=True).exists()
    assert alerts == []


def test_a_supervisor_lifts_the_quarantine_in_the_admin(
    store, client, supervisor, customer, alerts
):
    greedy = AgentActor(name="greedy", scopes=frozenset({Partition.PROFILE}))
    for _ in range(11):
        context_read(actor=greedy, customer=customer, partitions=["profile"], purpose="again")
    config = AgentConfig.objects.get(name="greedy")
    assert config.quarantined
    supervisor.is_superuser = True
    supervisor.save(update_fields=["is_superuser"])
    client.force_login(supervisor)
    response = client.post(
        "/admin/orchestrator/agentconfig/",
        {"action": "clear_quarantine", "_selected_action": [config.pk]},
    )
    assert response.status_code == 302
    config.refresh_from_db()
    assert not config.quarantined and config.quarantine_lifted_at is not None
    lifted = AuditEntry.objects.get(purpose="lift quarantine of agent greedy")
    assert lifted.actor_label == "user:sam"
    # Reads before the lift no longer count: the agent reads again without being stopped.
    context_read(actor=greedy, customer=customer, partitions=["profile"], purpose="again")
    config.refresh_from_db()
    assert not config.quarantined, config.quarantine_reason
