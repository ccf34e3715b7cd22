"""Fixtures shared by every app's tests: real graph objects made through services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from itertools import count

import pytest
from django.contrib.auth.models import Group, Permission, User

from config.celery import app as celery_app
from memory import services
from memory.actors import ALL_PARTITIONS, AgentActor, Partition
from memory.models import Channel, Customer, Message

_numbers = count(100)


@pytest.fixture(autouse=True)
def _test_settings(settings):
    """Unit tests run tasks inline (the real-worker test opts out) and serve static files from
    the apps, since tests run without `collectstatic`."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.CELERY_TASK_ALWAYS_EAGER = True
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield


@pytest.fixture(autouse=True)
def _agent_watch_windows_cleared():
    """The watch on agents keeps its windows in Redis, which a test's rollback leaves behind."""
    from memory.watch import windows_forget_all

    windows_forget_all()
    yield
    windows_forget_all()


@pytest.fixture
def make_customer(db) -> Callable[..., Customer]:
    """Make a customer with a fresh phone (and e-mail, when asked) through the services."""

    def make(
        name: str = "Ana Ruiz", phone: str | None = None, email: str | None = None
    ) -> Customer:
        n = next(_numbers)
        identities = [("phone", phone or f"+1415555{n:04d}")]
        if email is not None:
            identities.append(("email", email))
        return services.customer_create(display_name=name, identities=identities, source="test")

    return make


@pytest.fixture
def customer(make_customer) -> Customer:
    return make_customer(name="Ana Ruiz", phone="+14155550101", email="ana@example.com")


@pytest.fixture
def inbound_sms(db) -> Callable[..., Message]:
    """Record an inbound SMS from an address, as the webhook would."""

    def record(
        sender: str = "+14155550101",
        text: str = "Hi, order 88123 arrived with a cracked screen",
        at: dt.datetime | None = None,
        provider_id: str | None = None,
    ) -> Message:
        return services.message_record_inbound(
            channel=Channel.SMS,
            sender=sender,
            recipient="+14155550000",
            text=text,
            provider_id=provider_id,
            sent_at=at,
        ).message

    return record


@pytest.fixture
def all_scopes_agent() -> AgentActor:
    return AgentActor(name="test-all", scopes=ALL_PARTITIONS)


@pytest.fixture
def supervisor(db) -> User:
    """A supervisor: in the Supervisors group, which may read every context partition."""
    group, _ = Group.objects.get_or_create(name="Supervisors")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="memory",
            codename__in=[f"read_context_{p.value}" for p in Partition],
        )
    )
    user = User.objects.create_user("sam", password="correct horse battery", is_staff=True)
    user.groups.add(group)
    return user
