"""`evaluate recall` replays journeys through the real webhooks and pipeline, side by side
with the two retrieval baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from memory.models import Customer, MergeProposal, Message

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
    # Below the 0.9 it was when a reference alone merged records: a journey whose second channel
    # is linked only by the key it quotes, with no name to check it against, now waits for a
    # person's decision (a merge proposal), and its needs from the other channel are missed.
    # So does one whose e-mail or phone was only stated ("my email is ...") before it wrote
    # from it: a claim is one piece of evidence, never enough alone (issue 12).
    assert rapport["recall"] >= 0.6
    assert rapport["recall"] > systems["rag-global"]["recall"]
    assert rapport["recall"] > systems["rag-address"]["recall"]
    # Every event went in through the webhooks and was answered by the pipeline; a call from a
    # customer already with people is put through to a person, and stores no speech.
    events = [e for line in (DATA / "dev-small.jsonl").open() for e in json.loads(line)["events"]]
    written = [e for e in events if e["channel"] != "voice"]
    inbound = Message.objects.filter(direction="inbound")
    assert inbound.exclude(channel="voice").count() == len(written)
    assert inbound.filter(channel="voice").count() <= len(events) - len(written)
    assert Message.objects.filter(direction="outbound").exists()
    assert "rapport" in capsys.readouterr().out


def test_recall_command_refuses_a_missing_file():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no journey file"):
        call_command("evaluate", "recall", "--journeys", "/nonexistent.jsonl")


@pytest.mark.django_db(transaction=True)
def test_one_customer_across_channels_after_replay(tmp_path):
    """Linking evidence (stated e-mail, phone in a signature, a name and a key spelled out on a
    call from another phone) folds a journey's channels into one customer, and no further; a
    channel linked by nothing but a quoted key is left to a person as a merge proposal."""
    call_command(
        "evaluate",
        "recall",
        "--journeys",
        str(DATA / "dev-small.jsonl"),
        "--current-database",
    )
    journeys = [json.loads(line) for line in (DATA / "dev-small.jsonl").open()]
    live = Customer.objects.filter(merged_into__isnull=True)
    seen: list[set[int]] = []
    for journey in journeys:
        senders = {event["from"].lower() for event in journey["events"]}
        owners = set(
            Message.objects.filter(direction="inbound", channel_metadata__isnull=False)
            .filter(customer__in=live, customer__identities__value__in=senders)
            .values_list("customer_id", flat=True)
        )
        assert owners, journey["id"]
        if len(owners) > 1:
            pending = MergeProposal.objects.filter(status=MergeProposal.Status.PENDING)
            proposed = {
                customer_id
                for pair in pending.values_list("customer_id", "other_customer_id")
                for customer_id in pair
            }
            assert owners <= proposed, journey["id"]
        seen.append(owners)
    for index, owners in enumerate(seen):
        for others in seen[index + 1 :]:
            assert not owners & others
