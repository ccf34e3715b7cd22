"""Agent Connect: external agents (an HTTP endpoint, an OpenAI-compatible chat model) get the
same scoped context pack as built-in ones and are recorded the same way. A tiny HTTP server
on 127.0.0.1 stands in for them."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from memory.models import AuditEntry, Fact
from memory.services import case_open
from orchestrator import pipeline
from orchestrator.models import AgentConfig, AgentRun, IntentRoute, PipelineRun

pytestmark = pytest.mark.django_db


class ExternalAgent:
    """Records what it was sent and answers with `answer(path, body)`."""

    def __init__(self, answer: Callable[[str, dict[str, Any]], dict[str, Any]]) -> None:
        self.received: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                agent.received.append((self.path, body, dict(self.headers)))
                payload = json.dumps(answer(self.path, body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def external() -> Iterator[Callable[..., ExternalAgent]]:
    servers: list[ExternalAgent] = []

    def start(answer: Callable[[str, dict[str, Any]], dict[str, Any]]) -> ExternalAgent:
        servers.append(ExternalAgent(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_an_http_agent_answers_a_routed_intent_from_its_scoped_pack(customer, say, external):
    case_open(customer=customer, kind="order", reference="88123")
    server = external(
        lambda path, body: {
            "reply": "Your order is with the courier.",
            "findings": {"carrier": "ups"},
            "writes": [{"kind": "case_status", "value": "closed"}],
        }
    )
    config = AgentConfig.objects.create(
        name="shop-bot",
        kind=AgentConfig.Kind.HTTP,
        role=AgentConfig.Role.RESPONDER,
        endpoint=server.url + "/answer",
        scopes=["profile", "business"],
        timeout_seconds=3,
    )
    IntentRoute.objects.create(intent="order_status", target=IntentRoute.Target.AGENT, agent=config)

    reply = pipeline.message_process(message_id=say("where is my order 88123?").pk)

    assert reply.text == "Your order is with the courier."
    (path, body, _headers) = server.received[0]
    assert path == "/answer" and body["agent"] == "shop-bot"
    assert body["context"]["partitions"] == ["business", "profile"]
    assert body["context"]["identities"] == [] and body["context"]["turns"] == []
    assert "88123" in body["context_text"]
    run = AgentRun.objects.get(agent_name="shop-bot")
    assert run.kind == AgentConfig.Kind.HTTP and run.status == AgentRun.Status.OK
    assert run.output["findings"]["refused_writes"] == ["case_status"]
    assert AuditEntry.objects.filter(actor_label="agent:shop-bot").get().partitions == [
        "business",
        "profile",
    ]
    assert (
        PipelineRun.objects.get(reply_message_id=reply.message_id).decision["agent"] == "shop-bot"
    )


def test_an_external_analyst_runs_on_the_full_path_and_its_facts_are_merged(
    customer, say, external, django_capture_on_commit_callbacks
):
    server = external(
        lambda path, body: {"writes": [{"kind": "fact", "key": "segment", "value": "smb"}]}
    )
    AgentConfig.objects.create(
        name="crm-lookup",
        kind=AgentConfig.Kind.HTTP,
        endpoint=server.url,
        scopes=["profile"],
    )
    inbound = say("hello, quick question about my account")
    from orchestrator.tasks import message_process_inbound

    with django_capture_on_commit_callbacks(execute=True):
        message_process_inbound.delay(inbound.pk)
    run = PipelineRun.objects.get(inbound_message=inbound)
    assert "crm-lookup" in run.plan["agents"]
    fact = Fact.objects.get(customer=customer, key="segment", valid_until=None)
    assert fact.value == "smb" and fact.asserted_by_agent == "crm-lookup"


def test_a_chat_model_agent_is_called_openai_style(customer, say, external, settings):
    server = external(
        lambda path, body: {
            "model": body["model"],
            "choices": [{"message": {"role": "assistant", "content": "Happy to help, Ana."}}],
        }
    )
    settings.LLM_BASE_URL = server.url + "/v1"
    settings.LLM_API_KEY = "sk-test"
    settings.LLM_MODEL = "tiny-model"
    config = AgentConfig.objects.create(
        name="chat-llm",
        kind=AgentConfig.Kind.LLM,
        role=AgentConfig.Role.RESPONDER,
        scopes=["profile"],
    )
    IntentRoute.objects.create(intent="greeting", target=IntentRoute.Target.AGENT, agent=config)

    reply = pipeline.message_process(message_id=say("hi").pk)

    assert reply.text == "Happy to help, Ana."
    (path, body, headers) = server.received[0]
    assert path == "/v1/chat/completions" and body["model"] == "tiny-model"
    assert headers["Authorization"] == "Bearer sk-test"
    assert "Customer: Ana Ruiz" in body["messages"][0]["content"]
    assert body["messages"][1] == {"role": "user", "content": "hi"}


def test_an_unreachable_agent_is_recorded_and_the_responder_answers_instead(customer, say):
    config = AgentConfig.objects.create(
        name="down-bot",
        kind=AgentConfig.Kind.HTTP,
        role=AgentConfig.Role.RESPONDER,
        endpoint="http://127.0.0.1:9/",
        scopes=["profile"],
        timeout_seconds=1,
    )
    IntentRoute.objects.create(intent="greeting", target=IntentRoute.Target.AGENT, agent=config)
    reply = pipeline.message_process(message_id=say("hi").pk)
    assert reply.text == "Hi Ana, thanks for your message. How can I help you today?"
    assert AgentRun.objects.get(agent_name="down-bot").status == AgentRun.Status.FAILED
