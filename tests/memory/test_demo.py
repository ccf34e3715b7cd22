"""The demo seed: customers on every channel, running it twice adds nothing, agents are online
for handoffs to be assigned, and the seeded customer asking for a manager ends up with a
person, decided by the pipeline like any other message."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command

from memory.models import Case, Conversation, Customer, Fact, Handoff, Message, SentimentReading
from memory.roles import AGENTS
from orchestrator.models import AgentPresence, PipelineRun

GRAPH = (Customer, Message, Case, Fact, SentimentReading, Handoff)


def test_seed_demo_twice_adds_nothing_and_prints_the_login(
    db, capsys, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.DEBUG = True  # the laptop demo: the well-known login (see tests/security)
    login_file = tmp_path / "login.txt"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", login_file=login_file)
    first_out = capsys.readouterr().out
    counts = [m.objects.count() for m in (*GRAPH, PipelineRun)]

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")

    assert [m.objects.count() for m in (*GRAPH, PipelineRun)] == counts
    assert "Supervisor login: supervisor / rapport-demo" in first_out
    assert login_file.read_text() == "Supervisor login: supervisor / rapport-demo\n"
    assert authenticate(username="supervisor", password="rapport-demo") is not None
    assert set(Message.objects.values_list("channel", flat=True)) == {"sms", "voice", "email"}
    assert counts[0] >= 5 and counts[2] >= 4
    assert Fact.objects.filter(valid_until__isnull=False).exists()


def test_the_manager_call_is_handed_to_an_online_agent_by_the_pipeline(
    db, settings, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")

    online = AgentPresence.objects.filter(
        status=AgentPresence.Status.ONLINE, user__groups__name=AGENTS
    )
    assert online.count() >= 1
    supervisor = User.objects.get(username="supervisor")
    assert AgentPresence.objects.get(user=supervisor).status == AgentPresence.Status.ONLINE

    asked = Message.objects.get(text__contains="talk to a manager")
    run = PipelineRun.objects.get(inbound_message=asked)
    assert run.handed_off and run.decision["route"] == "hand_off"
    conversation = Conversation.objects.get(pk=asked.conversation_id)
    assert conversation.mode == Conversation.Mode.HANDED_OFF
    handoff = Handoff.objects.get(conversation=conversation)
    assert handoff.assigned_to_id in set(online.values_list("user_id", flat=True))
