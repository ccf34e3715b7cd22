"""Tampering with the audit trail after it was sealed: each way of cutting, rewriting or padding
it is caught by `audit verify` and named, against the seal exported outside the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError

from memory.actors import Partition, SystemActor
from memory.audit import GENESIS, anchors_read, chain_verify, seal_write
from memory.gdpr import customer_export
from memory.models import AuditChain, AuditEntry, Customer, Message
from memory.models.access import AuditSeal
from memory.selectors import ContextAccessRefused, context_read
from memory.tasks import audit_seal
from tests.channels_app.conftest import sms_params

pytestmark = pytest.mark.django_db


@pytest.fixture
def anchor(settings, tmp_path: Path):
    """Seals exported to a scratch directory and, with REDIS_URL, to this database's Redis key
    (cleared before and after, so no other test sees this one's anchor)."""
    settings.RAPPORT_AUDIT_ANCHOR_DIR = str(tmp_path)
    _redis_anchor_clear()
    yield tmp_path
    _redis_anchor_clear()


def _redis_anchor_clear() -> None:
    from memory.audit.seals import ANCHOR_REDIS_KEY, _database_slug, _redis

    client = _redis()
    if client is not None:
        client.delete(ANCHOR_REDIS_KEY.format(database=_database_slug()))


@pytest.fixture
def sealed_trail(anchor, twilio_post, customer, django_capture_on_commit_callbacks):
    """A signed SMS through the pipeline (reads and auditlog's change entries), a refused read
    (an entry with additional_data) and an export, then sealed by the beat task."""
    with django_capture_on_commit_callbacks(execute=True):
        assert twilio_post("/twilio/sms/", sms_params(Body="Where is order 88123?")).status_code
    with pytest.raises(ContextAccessRefused):
        context_read(
            actor=SystemActor(name="reports", scopes=frozenset({Partition.PROFILE})),
            customer=customer,
            partitions=["pii"],
            purpose="monthly report",
        )
    customer_export(actor=SystemActor(name="dpo"), customer=customer)
    assert audit_seal.delay().get() is not None
    assert chain_verify().ok
    return customer


def problems() -> list[tuple[int | None, int, int | None, str]]:
    return [(p.shard, p.seq, p.entry_id, p.problem) for p in chain_verify().problems]


def test_seal_is_signed_and_exported_outside_the_database(sealed_trail, anchor, settings, capsys):
    seal = AuditSeal.objects.get()
    stored = json.loads(next(anchor.glob("audit-anchor-*.json")).read_text())
    assert stored["root"] == seal.root and stored["entries"] == AuditEntry.objects.count()
    exported = anchors_read()
    assert set(exported) == ({"file", "redis"} if settings.REDIS_URL else {"file"})
    assert all(payload == stored for payload in exported.values())
    assert seal_write() is None  # nothing new: no second seal
    call_command("audit", "verify")
    assert f"last seal:         {seal.entries} entries" in capsys.readouterr().out


def test_newest_entries_cut_and_the_head_reset_are_caught_as_truncation(sealed_trail):
    head = AuditChain.objects.filter(seq__gte=3).order_by("-seq").first()
    kept = AuditEntry.objects.get(shard=head.shard, seq=head.seq - 2)
    AuditEntry.objects.filter(shard=head.shard, seq__gt=kept.seq).delete()
    AuditChain.objects.filter(pk=head.pk).update(seq=kept.seq, head_hash=kept.chain_hash)

    assert problems() == [
        (head.shard, kept.seq + 1, None, "deleted after sealing, head reset (truncated)")
    ]
    assert chain_verify().missing == 2
    with pytest.raises(CommandError, match="NOT intact"):
        call_command("audit", "verify")


def test_every_entry_deleted_and_the_heads_reset_is_caught_as_a_reset(sealed_trail):
    sealed = AuditEntry.objects.count()
    AuditEntry.objects.all().delete()
    AuditChain.objects.update(seq=0, head_hash=GENESIS)
    assert problems() == [(None, 0, None, f"reset: every entry deleted ({sealed} were sealed)")]

    # Wiping the seals too leaves the anchor outside the database to say so.
    AuditSeal.objects.all().delete()
    found = [p for _, _, _, p in problems()]
    assert f"reset: every entry deleted ({sealed} were sealed)" in found
    assert any(p.startswith("seal #") and p.endswith("missing from the database") for p in found)
    # And the beat never seals over the reset trail.
    with pytest.raises(CommandError, match="not sealed"):
        call_command("audit", "seal")


def test_edited_additional_data_is_caught(sealed_trail):
    refused = AuditEntry.objects.get(outcome=AuditEntry.Outcome.REFUSED)
    assert refused.additional_data == {"refused": ["pii"]}
    AuditEntry.objects.filter(pk=refused.pk).update(additional_data={"refused": []})
    assert problems() == [(refused.shard, refused.seq, refused.pk, "edited")]


def test_edited_and_deleted_change_entries_are_caught(sealed_trail):
    changes = AuditEntry.objects.filter(
        action=AuditEntry.Action.CREATE, content_type=ContentType.objects.get_for_model(Message)
    ).order_by("pk")
    edited, deleted = (
        changes[0],
        AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE).order_by("pk")[0],
    )
    AuditEntry.objects.filter(pk=edited.pk).update(changes={"direction": ["None", "outbound"]})
    AuditEntry.objects.filter(pk=deleted.pk).delete()
    assert sorted(problems(), key=lambda p: p[2] or 0) == sorted(
        [
            (edited.shard, edited.seq, edited.pk, "edited"),
            (deleted.shard, deleted.seq, None, "deleted"),
        ],
        key=lambda p: p[2] or 0,
    )


def test_forged_entries_are_caught_inside_and_outside_the_chain(sealed_trail):
    template = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).first()
    outside = AuditEntry(
        content_type=template.content_type,
        object_pk=template.object_pk,
        object_id=template.object_id,
        object_repr="",
        action=AuditEntry.Action.ACCESS,
        actor_label="user:nobody",
        purpose="alibi",
        timestamp=template.timestamp,
    )
    # bulk_create skips save(), as a raw INSERT would: the entry never joins the chain.
    (outside,) = AuditEntry.objects.bulk_create([outside])
    head = AuditChain.objects.get(shard=template.shard)
    padded = AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                content_type=template.content_type,
                object_pk=template.object_pk,
                action=AuditEntry.Action.ACCESS,
                actor_label="user:nobody",
                timestamp=template.timestamp,
                shard=template.shard,
                seq=head.seq + 1,
                content_hash=template.content_hash,
                personal_hash=template.personal_hash,
                prev_hash=head.head_hash,
                chain_hash="f" * 64,
            )
        ]
    )[0]
    AuditChain.objects.filter(pk=head.pk).update(seq=head.seq + 1)
    assert sorted(problems(), key=lambda p: p[1]) == [
        (None, 0, outside.pk, "forged (outside the chain)"),
        (template.shard, head.seq + 1, padded.pk, "forged (no valid link)"),
    ]


def test_an_entry_padded_with_copied_hashes_is_forged(sealed_trail):
    template = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).first()
    head = AuditChain.objects.get(shard=template.shard)
    template.pk, template.seq = None, head.seq + 1
    template.prev_hash = head.head_hash
    (forged,) = AuditEntry.objects.bulk_create([template])
    AuditChain.objects.filter(pk=head.pk).update(seq=head.seq + 1)
    assert problems() == [(template.shard, head.seq + 1, forged.pk, "forged (no valid link)")]


def test_swapped_seq_is_reported_once_and_spares_the_neighbours(sealed_trail):
    head = AuditChain.objects.filter(seq__gte=4).order_by("-seq").first()
    first = AuditEntry.objects.get(shard=head.shard, seq=2)
    second = AuditEntry.objects.get(shard=head.shard, seq=3)
    AuditEntry.objects.filter(pk=first.pk).update(seq=10**9)
    AuditEntry.objects.filter(pk=second.pk).update(seq=2)
    AuditEntry.objects.filter(pk=first.pk).update(seq=3)
    assert problems() == [(head.shard, 2, second.pk, f"swapped with seq 3 (entry #{first.pk})")]


def test_erasure_scrubs_without_breaking_the_trail_but_a_blanked_entry_is_caught(
    sealed_trail, make_customer
):
    other = make_customer(name="Bea Lund")
    customer_export(actor=SystemActor(name="dpo"), customer=other)
    call_command("customer", "erase", str(sealed_trail.pk), "--yes", "--reason", "ticket 9")
    erasure = AuditEntry.objects.get(purpose="erasure: ticket 9")
    scrubbed = erasure.additional_data["scrubbed_entries"]
    assert scrubbed and erasure.additional_data["erased"]["audit_entries"] == len(scrubbed)
    assert not AuditEntry.objects.filter(pk__in=scrubbed).exclude(object_repr="[erased]").exists()
    assert chain_verify().ok
    # The same blanking on an entry erasure did not list is an edit.
    untouched = AuditEntry.objects.filter(object_pk=str(other.pk)).exclude(changes=None).first()
    AuditEntry.objects.filter(pk=untouched.pk).update(changes=None, object_repr="[erased]")
    assert problems() == [(untouched.shard, untouched.seq, untouched.pk, "edited")]
    assert Customer.objects.get(pk=sealed_trail.pk).erased_at is not None


def test_an_edited_anchor_is_caught(sealed_trail, anchor):
    path = next(anchor.glob("audit-anchor-*.json"))
    payload = json.loads(path.read_text())
    payload["entries"] -= 1
    path.write_text(json.dumps(payload))
    assert (None, 0, None, "anchor in file forged or edited") in problems()
