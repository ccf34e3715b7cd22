"""`evaluate recall` replays journeys through the real webhooks and pipeline, side by side
with the two retrieval baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from memory.models import Customer, Message

DATA = Path(__file__).parent / "data"


@pytest.mark.django_db(transaction=True)
def test_recall_command_scores_rapport_and_both_baselines(tmp_path, capsys):
    out = tmp_path / "recall.json"

    call_command(
        "evaluate",
        "recall",
        "--journeys",
        str(DATA / "dev-small.jsonl"),
        "--current-database",
        "--json",
        str(out),
    )

    systems = json.loads(out.read_text())["systems"]
    assert set(systems) == {"rapport", "rag-global", "rag-address"}
    keys = {
        "recall",
        "cross_channel_recall",
        "stale_rate",
        "leaks",
        "sentiment_accuracy",
        "context_ms_median",
        "context_ms_p95",
    }
    for figures in systems.values():
        assert keys <= set(figures)
    rapport = systems["rapport"]
    assert rapport["leaks"] == 0
    assert rapport["recall"] >= 0.9
    assert rapport["recall"] > systems["rag-global"]["recall"]
    assert rapport["recall"] > systems["rag-address"]["recall"]
    # Every event went in through the webhooks and was answered by the pipeline.
    events = sum(len(json.loads(line)["events"]) for line in (DATA / "dev-small.jsonl").open())
    assert Message.objects.filter(direction="inbound").count() == events
    assert Message.objects.filter(direction="outbound").exists()
    assert "rapport" in capsys.readouterr().out


def test_recall_command_refuses_a_missing_file():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no journey file"):
        call_command("evaluate", "recall", "--journeys", "/nonexistent.jsonl")


@pytest.mark.django_db(transaction=True)
def test_one_customer_across_channels_after_replay(tmp_path):
    """Linking evidence (stated e-mail, phone in a signature, a key spelled out on a call from
    another phone) folds every channel of a journey into one customer, and no further."""
    call_command(
        "evaluate",
        "recall",
        "--journeys",
        str(DATA / "dev-small.jsonl"),
        "--current-database",
    )
    journeys = [json.loads(line) for line in (DATA / "dev-small.jsonl").open()]
    live = Customer.objects.filter(merged_into__isnull=True)
    for journey in journeys:
        senders = {event["from"].lower() for event in journey["events"]}
        owners = set(
            Message.objects.filter(direction="inbound", channel_metadata__isnull=False)
            .filter(customer__in=live, customer__identities__value__in=senders)
            .values_list("customer_id", flat=True)
        )
        assert len(owners) == 1, journey["id"]
