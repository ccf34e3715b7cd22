"""The demo seed: customers on every channel, and running it twice adds nothing."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.core.management import call_command

from memory.models import Case, Customer, Fact, Message, SentimentReading


def test_seed_demo_twice_adds_nothing_and_prints_the_login(db, capsys, settings):
    settings.DEBUG = True  # the laptop demo: the well-known login (see tests/security)
    call_command("seed_demo")
    first_out = capsys.readouterr().out
    counts = [m.objects.count() for m in (Customer, Message, Case, Fact, SentimentReading)]

    call_command("seed_demo")

    assert [m.objects.count() for m in (Customer, Message, Case, Fact, SentimentReading)] == counts
    assert "Supervisor login: supervisor / rapport-demo" in first_out
    assert authenticate(username="supervisor", password="rapport-demo") is not None
    assert set(Message.objects.values_list("channel", flat=True)) == {"sms", "voice", "email"}
    assert counts[0] >= 5 and counts[2] >= 4
    assert Fact.objects.filter(valid_until__isnull=False).exists()
