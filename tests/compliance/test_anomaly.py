"""The watch on agents: each kind of anomaly quarantines the agent in the same request, its
next read is refused, supervisors are alerted, the audit trail says why and how fast; both
with the windows in Redis and counted from the database."""

from __future__ import annotations

import statistics

import pytest
from django.conf import settings as django_settings

from memory.actors import AgentActor, Partition
from memory.models import ActorQuarantine, AuditEntry
from memory.selectors import ContextAccessRefused, context_read
from memory.watch import ANOMALY_DESCRIPTIONS, WATCH_LABEL, AnomalyKind
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


def quarantine_checked(agent: AgentActor, kind: AnomalyKind, alerts, store: str) -> ActorQuarantine:
    quarantine = ActorQuarantine.objects.get(actor=agent.label)
    assert quarantine.active and quarantine.anomaly == kind.value
    assert quarantine.quarantined_by == WATCH_LABEL
    assert quarantine.reason.startswith(f"{ANOMALY_DESCRIPTIONS[kind]}: ")
    assert quarantine.detection_ms is not None
    assert quarantine.detection_ms < 1000
    DELAYS.setdefault(f"{kind.value} ({store})", []).append(quarantine.detection_ms)
    why = AuditEntry.objects.get(
        actor_label=WATCH_LABEL, purpose=f"quarantine {agent.label}: {kind.value}"
    )
    assert why.additional_data["anomaly"] == kind.value
    assert why.additional_data["reason"] == quarantine.reason
    assert why.additional_data["detection_ms"] == quarantine.detection_ms
    offending = AuditEntry.objects.get(pk=why.additional_data["offending_entry"])
    assert offending.actor_label == agent.label and offending.action == AuditEntry.Action.ACCESS
    assert why.additional_data["offending_seq"] == offending.seq
    assert why.seq is not None
    assert [(event, payload["actor"], groups) for event, payload, groups in alerts] == [
        ("actor.quarantined", agent.label, ("supervisors",))
    ]
    assert alerts[0][1]["anomaly"] == kind.value
    return quarantine


def offending_refused(quarantine: ActorQuarantine, customer) -> None:
    """The read the quarantine names is the one that would have crossed the line: refused,
    so nothing of the customer was handed out by it."""
    why = AuditEntry.objects.get(
        actor_label=WATCH_LABEL, purpose__startswith=f"quarantine {quarantine.actor}"
    )
    offending = AuditEntry.objects.get(pk=why.additional_data["offending_entry"])
    assert offending.outcome == AuditEntry.Outcome.REFUSED
    assert offending.object_id == customer.pk


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


def test_many_distinct_customers_quarantine_the_agent(store, make_customer, alerts, settings):
    # Volume is what is judged here, not the work behind each read.
    settings.RAPPORT_ANOMALY_REQUIRE_RUN = False
    crawler = AgentActor(name="crawler", scopes=frozenset({Partition.PROFILE}))
    customers = [make_customer(name=f"Person {n}") for n in range(6)]
    for customer in customers[:5]:
        context_read(actor=crawler, customer=customer, partitions=["profile"], purpose="list")
    # The sixth customer would cross the line: that read is refused, not served.
    with pytest.raises(ContextAccessRefused, match="quarantined"):
        context_read(actor=crawler, customer=customers[5], partitions=["profile"], purpose="list")
    quarantine = quarantine_checked(crawler, AnomalyKind.MANY_CUSTOMERS, alerts, store)
    offending_refused(quarantine, customers[5])
    next_read_refused(crawler, customers[0])


def test_a_burst_far_above_the_usual_rate_quarantines_the_agent(store, customer, alerts, settings):
    settings.RAPPORT_ANOMALY_REQUIRE_RUN = False
    greedy = AgentActor(name="greedy", scopes=frozenset({Partition.PROFILE}))
    for _ in range(10):
        context_read(actor=greedy, customer=customer, partitions=["profile"], purpose="again")
    with pytest.raises(ContextAccessRefused, match="quarantined"):
        context_read(actor=greedy, customer=customer, partitions=["profile"], purpose="again")
    quarantine = quarantine_checked(greedy, AnomalyKind.BURST, alerts, store)
    offending_refused(quarantine, customer)
    next_read_refused(greedy, customer)


def test_a_read_with_no_pipeline_run_behind_it_quarantines_the_agent(
    store, customer, run_behind, alerts
):
    agent = builtin_actor("intent")
    with pytest.raises(ContextAccessRefused, match="quarantined"):
        context_read(
            actor=agent,
            customer=customer,
            partitions=["messages"],
            purpose="read on its own",
            correlation_id="message:999999",
        )
    quarantine = quarantine_checked(agent, AnomalyKind.NO_RUN_BEHIND, alerts, store)
    offending_refused(quarantine, customer)
    next_read_refused(agent, customer, run_behind())


def test_a_run_of_another_customer_is_no_run_behind(store, make_customer, run_behind, alerts):
    other = make_customer(name="Bo", phone="+14155550123")
    correlation = run_behind(sender="+14155550123")
    ana = make_customer(name="Ana", phone="+14155550124")
    with pytest.raises(ContextAccessRefused):
        context_read(
            actor=builtin_actor("intent"),
            customer=ana,
            partitions=["messages"],
            purpose="borrowed run",
            correlation_id=correlation,
        )
    assert other.pk != ana.pk
    quarantine = ActorQuarantine.objects.get(actor="agent:intent")
    assert quarantine.active and quarantine.anomaly == AnomalyKind.NO_RUN_BEHIND


def test_normal_pipeline_traffic_quarantines_nobody(store, say, alerts):
    from orchestrator import pipeline

    for n in range(4):
        pipeline.message_process(message_id=say(f"where is my order 8812{n}?").pk)
    assert not ActorQuarantine.objects.filter(active=True).exists()
    assert alerts == []


def test_an_ad_hoc_agent_reading_with_no_work_named_is_quarantined(
    store, customer, run_behind, alerts
):
    """Any agent, not only a built-in one, reads for a message or conversation of this
    customer; a read naming none is stopped."""
    stray = AgentActor(name="stray", scopes=frozenset({Partition.PROFILE}))
    with pytest.raises(ContextAccessRefused):
        context_read(actor=stray, customer=customer, partitions=["profile"], purpose="on its own")
    quarantine_checked(stray, AnomalyKind.NO_RUN_BEHIND, alerts, store)
    next_read_refused(stray, customer, run_behind())


def test_an_ad_hoc_agent_reading_for_a_message_of_the_customer_is_let_be(
    store, customer, run_behind, alerts
):
    helper = AgentActor(name="helper", scopes=frozenset({Partition.PROFILE}))
    context_read(
        actor=helper,
        customer=customer,
        partitions=["profile"],
        purpose="for this message",
        correlation_id=run_behind(),
    )
    assert not ActorQuarantine.objects.filter(actor="agent:helper").exists()
    assert alerts == []


def test_a_supervisor_lifts_the_quarantine_in_the_admin(
    store, client, supervisor, customer, alerts, settings, django_capture_on_commit_callbacks
):
    settings.RAPPORT_ANOMALY_REQUIRE_RUN = False
    # An external agent, configured in the admin, whose quarantine lives apart from it.
    config = AgentConfig.objects.create(name="greedy", kind=AgentConfig.Kind.LLM)
    greedy = AgentActor(name="greedy", scopes=frozenset({Partition.PROFILE}))
    for _ in range(10):
        context_read(actor=greedy, customer=customer, partitions=["profile"], purpose="again")
    next_read_refused(greedy, customer)  # the eleventh crosses the line: refused
    quarantine = ActorQuarantine.objects.get(actor="agent:greedy")
    assert quarantine.active
    next_read_refused(greedy, customer)
    supervisor.is_superuser = True
    supervisor.save(update_fields=["is_superuser"])
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/orchestrator/agentconfig/",
            {"action": "lift_quarantine", "_selected_action": [config.pk]},
        )
    assert response.status_code == 302
    quarantine.refresh_from_db()
    assert not quarantine.active and quarantine.lifted_at is not None
    assert quarantine.lifted_by == "user:sam"
    lifted = AuditEntry.objects.get(purpose="lift quarantine of agent:greedy")
    assert lifted.actor_label == "user:sam"
    assert lifted.additional_data == {"was": quarantine.reason}
    assert alerts[-1] == (
        "actor.quarantine_lifted",
        {"actor": "agent:greedy", "by": "user:sam"},
        ("supervisors",),
    )
    # Reads before the lift no longer count: the agent reads again without being stopped.
    context_read(actor=greedy, customer=customer, partitions=["profile"], purpose="again")
    quarantine.refresh_from_db()
    assert not quarantine.active, quarantine.reason


def test_a_supervisor_quarantines_an_agent_in_the_admin(
    store, client, supervisor, customer, run_behind, alerts
):
    config = AgentConfig.objects.create(name="suspect", kind=AgentConfig.Kind.LLM)
    supervisor.is_superuser = True
    supervisor.save(update_fields=["is_superuser"])
    client.force_login(supervisor)
    response = client.post(
        "/admin/orchestrator/agentconfig/",
        {"action": "quarantine_selected", "_selected_action": [config.pk]},
    )
    assert response.status_code == 302
    quarantine = ActorQuarantine.objects.get(actor="agent:suspect")
    assert quarantine.active and quarantine.quarantined_by == "user:sam"
    why = AuditEntry.objects.get(purpose="quarantine agent:suspect")
    assert why.actor_label == "user:sam"
    assert [event for event, _, _ in alerts] == ["actor.quarantined"]
    suspect = AgentActor(name="suspect", scopes=frozenset({Partition.PROFILE}))
    next_read_refused(suspect, customer, run_behind())
