"""Rapport as a system under the recall benchmark: events go in as signed webhooks through the
real views, services and pipeline; probes read context through the gate."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from typing import Any

from django.test import Client

from bench.recall.runner import Journey, ProbeContext, StreamEvent
from channels_app.simulator.journeys import Event
from channels_app.simulator.traffic import Answer, Tally, Target, TrafficSender
from memory.actors import AgentActor, Partition
from memory.models import Message
from memory.selectors import context_read
from memory.services import customer_create


class RapportSystem:
    """Rapport itself: each event goes in as its provider's signed webhook, through the real
    views, services and pipeline; each probe reads context through the gate, audited.
    """

    name = "rapport"

    def __init__(self, *, actor_scopes: frozenset[str] | None = None) -> None:
        self.client = Client()
        self.target = Target(
            url="",
            public_url=BENCHMARK_PUBLIC_URL,
            twilio_token=BENCHMARK_TWILIO_TOKEN,
            account_sid="AC" + "0" * 32,
            email_user=BENCHMARK_EMAIL_USER,
            email_password=BENCHMARK_EMAIL_PASSWORD,
        )
        self.sender = _InProcessSender(self.target, self.client)
        self.message_of: dict[str, int] = {}
        self.unstored: list[str] = []
        self.actor_scopes = actor_scopes

    def load_profiles(self, journeys: Iterable[Journey]) -> None:
        """Import the journeys' CRM profiles, as a contact center would before traffic starts."""
        for journey in journeys:
            for profile in journey.profiles:
                identities = [
                    (kind, profile[field_name])
                    for kind, field_name in (("phone", "phone"), ("email", "email"))
                    if profile.get(field_name)
                ]
                customer_create(
                    display_name=profile.get("name", ""), identities=identities, source="crm"
                )

    def ingest(self, item: StreamEvent) -> None:
        event = item.event
        before = Message.objects.filter(direction=Message.Direction.INBOUND).order_by("-pk")
        last_pk = before.values_list("pk", flat=True).first() or 0
        self.sender.send(
            Event(
                journey_id=item.journey.journey_id,
                index=item.index,
                at=_parse_time(event["t"]),
                channel=event["channel"],
                sender=event["from"],
                recipient=event["to"],
                body=event.get("body", ""),
                subject=event.get("subject", ""),
                speech=event.get("speech", ""),
            )
        )
        stored = (
            Message.objects.filter(direction=Message.Direction.INBOUND, pk__gt=last_pk)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
        if stored is None:
            # A call put straight through to a person (the customer is with people already)
            # stores no speech: the probe reads the journey's last stored turn instead.
            earlier = [
                self.message_of[f"{item.journey.journey_id}:{index}"]
                for index in range(item.index)
                if f"{item.journey.journey_id}:{index}" in self.message_of
            ]
            if not earlier:
                raise RuntimeError(f"event {item.key} was not stored: {self.sender.last_status}")
            self.unstored.append(item.key)
            stored = earlier[-1]
        self.message_of[item.key] = stored

    def context(self, item: StreamEvent, *, budget: int) -> ProbeContext:
        started = time.perf_counter()
        message = Message.objects.only("customer_id").get(pk=self.message_of[item.key])
        scopes = self.actor_scopes or PROBE_SCOPES
        pack = context_read(
            actor=AgentActor(name=PROBE_AGENT, scopes=Partition.parse(sorted(scopes))),
            customer=message.customer_id,
            partitions=sorted(scopes),
            purpose=f"recall benchmark probe after {item.key}",
            # The probe stands in for the responder answering this message's pipeline run.
            correlation_id=f"message:{self.message_of[item.key]}",
        )
        text = pack.render_text(word_budget=budget)
        elapsed = (time.perf_counter() - started) * 1000
        label = pack.emotion.label if pack.emotion is not None else None
        return ProbeContext(text=text, sentiment=label, elapsed_ms=elapsed)


BENCHMARK_HOST = "recall-benchmark.rapport.invalid"
BENCHMARK_PUBLIC_URL = f"https://{BENCHMARK_HOST}"
BENCHMARK_TWILIO_TOKEN = "recall-benchmark-token"  # noqa: S105 - a scratch database's token
BENCHMARK_EMAIL_USER = "recall"
BENCHMARK_EMAIL_PASSWORD = "recall-benchmark-password"  # noqa: S105
# The probe reads as an agent granted every partition: recall is about what the memory holds,
# and an agent without `pii` would see addresses masked by design (the baselines mask nothing).
PROBE_AGENT = "recall-probe"
PROBE_SCOPES = frozenset({"profile", "business", "messages", "emotion", "pii"})


def benchmark_settings() -> dict[str, Any]:
    """Settings the in-process replay signs and authenticates with; tasks run inline."""
    return {
        "TWILIO_AUTH_TOKEN": BENCHMARK_TWILIO_TOKEN,
        "TWILIO_VALIDATE_SIGNATURES": True,
        "RAPPORT_PUBLIC_URL": BENCHMARK_PUBLIC_URL,
        "EMAIL_INBOUND_USER": BENCHMARK_EMAIL_USER,
        "EMAIL_INBOUND_PASSWORD": BENCHMARK_EMAIL_PASSWORD,
        "SENDGRID_WEBHOOK_PUBLIC_KEY": "",
        "OUTBOUND_SMS_BACKEND": "console",
        "OUTBOUND_EMAIL_BACKEND": "console",
        "CELERY_TASK_ALWAYS_EAGER": True,
        "ALLOWED_HOSTS": ["*"],
    }


def _parse_time(raw: str) -> dt.datetime:
    return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))


class _InProcessSender(TrafficSender):
    """The simulator's request builder, posting through Django's test client instead of HTTP."""

    def __init__(self, target: Target, client: Client) -> None:
        super().__init__(target, Tally())
        self.client = client
        self.last_status = 0

    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        headers = dict(headers)
        content_type = headers.pop("Content-Type")
        response = self.client.generic(
            "POST",
            path,
            data=body,
            content_type=content_type,
            headers=headers,
            secure=True,
            SERVER_NAME=BENCHMARK_HOST,
        )
        self.last_status = response.status_code
        return Answer(status=response.status_code, body=response.content)
