"""Demo customers with SMS, voice and e-mail history, cases, facts and sentiment.

Everything is written through the services with fixed provider ids, so seeding twice adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from memory import services
from memory.models import Case, Channel, Customer, Fact, Message
from memory.roles import AGENTS, SUPERVISORS, roles_ensure

BUSINESS_NUMBER = "+14155550000"
SUPPORT_EMAIL = "support@shop.example"


@dataclass(frozen=True)
class DemoTurn:
    """One turn of a demo history: `days_ago` places it relative to the seeding day."""

    key: str
    channel: str
    days_ago: float
    text: str
    sentiment: tuple[str, float] | None = None
    reply: str = ""
    subject: str = ""
    # Still waiting for an answer when the demo starts: the pipeline reads it then, as it
    # would have when it came in (the seed writes history; deciding is the orchestrator's).
    awaiting: bool = False


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    phone: str
    email: str
    turns: tuple[DemoTurn, ...]
    cases: tuple[tuple[str, str, str, str], ...] = ()  # kind, reference, status, title
    facts: tuple[tuple[str, str, float], ...] = ()  # key, value, days_ago; later ones replace
    case_facts: tuple[tuple[str, str, str], ...] = field(default=())  # reference, key, value


DEMO_CUSTOMERS: tuple[DemoCustomer, ...] = (
    DemoCustomer(
        name="Ana Ruiz",
        phone="+14155550101",
        email="ana@example.com",
        turns=(
            DemoTurn(
                "ana-1",
                Channel.SMS,
                6,
                "Hi, order 88123 arrived with a cracked screen",
                ("negative", -0.6),
                reply="Sorry to hear that, Ana. I've opened a replacement for order 88123.",
            ),
            DemoTurn(
                "ana-2",
                Channel.EMAIL,
                5,
                "Photos attached. I moved, ship the new one to 9 Elm St.",
                ("neutral", 0.0),
                subject="Re: cracked screen",
            ),
            DemoTurn(
                "ana-3",
                Channel.VOICE,
                4,
                "hi I'm calling about the replacement for my phone",
                ("neutral", 0.1),
            ),
            DemoTurn(
                "ana-4",
                Channel.SMS,
                1,
                "got the new phone, works great thank you!",
                ("positive", 0.8),
            ),
        ),
        cases=(("order", "88123", "open", "Replacement for cracked screen"),),
        facts=(("shipping_address", "12 Oak Ave", 30), ("shipping_address", "9 Elm St", 5)),
        case_facts=(("88123", "issue", "cracked screen"),),
    ),
    DemoCustomer(
        name="Ben Okafor",
        phone="+14155550102",
        email="ben.okafor@example.net",
        turns=(
            DemoTurn(
                "ben-1",
                Channel.EMAIL,
                3,
                "I was charged twice for my March invoice INV-2041. Please refund one.",
                ("negative", -0.4),
                subject="Double charge INV-2041",
                reply="Thanks Ben, we're looking into invoice INV-2041.",
            ),
            DemoTurn(
                "ben-2",
                Channel.SMS,
                2,
                "still no refund. this is ridiculous",
                ("negative", -0.8),
            ),
            DemoTurn(
                "ben-3",
                Channel.VOICE,
                0.2,
                "I want to talk to a manager about this double charge right now",
                ("negative", -0.9),
                awaiting=True,
            ),
        ),
        cases=(("claim", "INV-2041", "open", "Billing dispute: double charge"),),
        facts=(("preferred_contact", "email", 3),),
        case_facts=(("INV-2041", "amount_disputed", "$49.00"),),
    ),
    DemoCustomer(
        name="Chloe Martin",
        phone="+14155550103",
        email="chloe.martin@example.org",
        turns=(
            DemoTurn(
                "chloe-1",
                Channel.SMS,
                2,
                "can I move my appointment APT-5512 to friday after 5pm?",
                ("neutral", 0.0),
                reply="Done, Chloe: APT-5512 is now Friday at 5:30pm.",
            ),
            DemoTurn("chloe-2", Channel.SMS, 1.9, "perfect, thanks so much!", ("positive", 0.9)),
        ),
        cases=(("appointment", "APT-5512", "open", "Dental check-up"),),
        facts=(("preferred_time", "after 5pm", 2), ("preferred_contact", "sms", 2)),
    ),
    DemoCustomer(
        name="Dev Patel",
        phone="+14155550104",
        email="dev.patel@example.com",
        turns=(
            DemoTurn(
                "dev-1",
                Channel.EMAIL,
                1,
                "I can't log in to my account ACC-7781 since the password reset.",
                ("negative", -0.3),
                subject="Locked out",
                awaiting=True,
            ),
        ),
        cases=(("account", "ACC-7781", "open", "Login problem after reset"),),
    ),
    DemoCustomer(
        name="Eva Novak",
        phone="+14155550105",
        email="eva.novak@example.com",
        turns=(
            DemoTurn(
                "eva-1",
                Channel.VOICE,
                0.5,
                "I lost my card yesterday please block it",
                ("negative", -0.5),
            ),
            DemoTurn(
                "eva-2",
                Channel.SMS,
                0.4,
                "thanks for blocking it so fast",
                ("positive", 0.6),
            ),
        ),
        cases=(("card", "CARD-4471", "closed", "Lost card blocked"),),
        facts=(("card_status", "blocked", 0.5),),
    ),
)


@dataclass
class SeedReport:
    customers: int = 0
    messages_added: int = 0
    facts_added: int = 0


def demo_seed(*, progress: Callable[[str], None] = lambda line: None) -> SeedReport:
    """Write the demo customers; anything already there is left as it is."""
    roles_ensure()
    report = SeedReport()
    now = timezone.now().replace(second=0, microsecond=0)
    for demo in DEMO_CUSTOMERS:
        with transaction.atomic():
            customer = _seed_customer(demo=demo, now=now, report=report)
        report.customers += 1
        progress(f"  {customer.display_name}: {customer.messages.count()} messages")
    return report


def _seed_customer(*, demo: DemoCustomer, now: dt.datetime, report: SeedReport) -> Customer:
    customer = services.customer_resolve(
        channel=Channel.SMS, address=demo.phone, display_name=demo.name
    )
    services.identity_link(
        customer=customer, kind="email", address=demo.email, source="demo CRM", verified=True
    )
    cases = {
        reference: services.case_open(
            customer=customer,
            kind=kind,
            reference=reference,
            status=status,
            title=title,
            opened_at=now - dt.timedelta(days=7),
        )
        for kind, reference, status, title in demo.cases
    }
    for turn in demo.turns:
        report.messages_added += _seed_turn(customer=customer, demo=demo, turn=turn, now=now)
    before = Fact.objects.filter(customer=customer).count()
    for key, value, days_ago in demo.facts:
        services.fact_assert(
            customer=customer,
            key=key,
            value=value,
            asserted_by=Fact.AssertedBy.IMPORT,
            valid_from=now - dt.timedelta(days=days_ago),
        )
    for reference, key, value in demo.case_facts:
        services.fact_assert(
            customer=customer,
            case=cases[reference],
            key=key,
            value=value,
            asserted_by=Fact.AssertedBy.IMPORT,
            valid_from=cases[reference].opened_at,
        )
    report.facts_added += Fact.objects.filter(customer=customer).count() - before
    for case in cases.values():
        if case.status == Case.Status.CLOSED and case.closed_at is None:
            services.case_set_status(case=case, status=Case.Status.CLOSED)
    return customer


def _seed_turn(*, customer: Customer, demo: DemoCustomer, turn: DemoTurn, now: dt.datetime) -> int:
    at = now - dt.timedelta(days=turn.days_ago)
    sender = demo.email if turn.channel == Channel.EMAIL else demo.phone
    recipient = SUPPORT_EMAIL if turn.channel == Channel.EMAIL else BUSINESS_NUMBER
    thread_key = f"demo-call-{turn.key}" if turn.channel == Channel.VOICE else None
    record = services.message_record_inbound(
        channel=turn.channel,
        sender=sender,
        recipient=recipient,
        text=turn.text,
        subject=turn.subject,
        provider_id=f"demo-{turn.key}",
        thread_key=thread_key,
        sent_at=at,
    )
    if not record.created:
        return 0
    if turn.sentiment is not None:
        label, score = turn.sentiment
        services.sentiment_record(
            message=record.message, label=label, score=score, model_name="demo-seed"
        )
    if turn.reply:
        services.message_record_outbound(
            conversation=record.message.conversation,
            text=turn.reply,
            author=Message.Author.AGENT,
            author_agent="responder",
            provider_id=f"demo-{turn.key}-reply",
            delivery_status=Message.DeliveryStatus.DELIVERED,
            sent_at=at + dt.timedelta(minutes=2),
        )
        return 2
    return 1


def demo_messages_awaiting() -> list[int]:
    """The seeded messages still waiting for an answer (oldest first), for the pipeline."""
    keys = [f"demo-{t.key}" for d in DEMO_CUSTOMERS for t in d.turns if t.awaiting]
    return list(
        Message.objects.filter(provider_id__in=keys, direction=Message.Direction.INBOUND)
        .order_by("sent_at")
        .values_list("pk", flat=True)
    )


# The demo's human agents: on the roster and online, so handoffs are seen being assigned.
DEMO_AGENTS: tuple[tuple[str, str], ...] = (("maya", "Maya Lind"), ("leo", "Leo Brandt"))


def demo_agents_ensure(*, password: str | None) -> list[User]:
    """The demo's agents, in the Agents group; `password` only for a new login (None: they
    cannot sign in, which is what a demo off DEBUG gets)."""
    groups = roles_ensure()
    agents: list[User] = []
    for username, name in DEMO_AGENTS:
        first, _, last = name.partition(" ")
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last}
        )
        if created:
            if password:
                user.set_password(password)
            else:
                user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(groups[AGENTS])
        agents.append(user)
    return agents


# The laptop demo's well-known password: `seed_demo` uses it only with DEBUG on.
DEMO_SUPERVISOR_PASSWORD = "rapport-demo"  # noqa: S105 - public by design, DEBUG-only


def demo_supervisor_ensure(*, username: str, password: str) -> tuple[User, bool]:
    """The demo supervisor login; an existing one keeps its password."""
    groups = roles_ensure()
    user, created = User.objects.get_or_create(
        username=username, defaults={"is_staff": True, "first_name": "Demo supervisor"}
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    user.groups.add(groups[SUPERVISORS])
    return user, created
