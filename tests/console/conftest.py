"""Console fixtures: one person per role (groups as `roles_ensure` makes them), conversations
waiting for a person, and the signed webhook traffic the channel tests use."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from memory.models import Conversation, Handoff, Message
from memory.roles import AGENTS, COMPLIANCE, SUPERVISORS, roles_ensure
from memory.services.handoffs import conversation_hand_off
from tests.channels_app.conftest import (  # noqa: F401 - fixtures: signed webhook traffic
    _channel_settings,
    twilio_post,
)
from tests.orchestrator.conftest import (  # noqa: F401 - fixtures: trained models, listeners
    _orchestrator_settings,
    listen,
    say,
    trained_model_dir,
)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def person(db) -> Callable[..., User]:
    """A person in one of the roles' groups."""
    groups = roles_ensure()

    def make(username: str, role: str | None) -> User:
        user = User.objects.create_user(username, password=PASSWORD, first_name=username.title())
        if role is not None:
            user.groups.add(groups[role])
        return user

    return make


@pytest.fixture
def boss(person) -> User:
    return person("boss", SUPERVISORS)


@pytest.fixture
def agent(person) -> User:
    return person("alex", AGENTS)


@pytest.fixture
def other_agent(person) -> User:
    return person("blair", AGENTS)


@pytest.fixture
def auditor(person) -> User:
    return person("casey", COMPLIANCE)


@pytest.fixture(autouse=True)
def work_lists(db) -> None:
    """The dispositions and canned responses the console migration starts with: a
    transactional test earlier in the run empties every table, these included."""
    from orchestrator.models import CannedResponse, Disposition

    Disposition.objects.get_or_create(name="solved", defaults={"label": "Solved", "order": 10})
    Disposition.objects.get_or_create(name="no-reply", defaults={"label": "No reply", "order": 50})
    CannedResponse.objects.get_or_create(
        title="Anything else",
        defaults={"shortcut": "else", "body": "Is there anything else I can help you with today?"},
    )


@pytest.fixture
def client_as() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def handed_off(inbound_sms) -> Callable[..., Conversation]:
    """A conversation automation handed to people, from a fresh sender."""

    def make(sender: str = "+14155550101", text: str = "I want a person now") -> Conversation:
        message: Message = inbound_sms(sender=sender, text=text)
        conversation_hand_off(
            conversation=message.conversation,
            reason="the customer asked for a person",
            requested_by="agent:rules",
            trigger_message=message,
        )
        return Conversation.objects.get(pk=message.conversation_id)

    return make


def open_handoff(conversation: Conversation) -> Handoff:
    return conversation.handoffs.exclude(status=Handoff.Status.RELEASED).get()
