"""Concurrent readers do not queue on one audit row: each transaction advances a shard of the
chain no other open transaction holds, and the trail still verifies afterwards (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection, transaction

from memory.actors import Partition, SystemActor
from memory.audit import access_record, chain_verify
from memory.models import AuditEntry
from memory.selectors import context_read

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="row locks are PostgreSQL's; SQLite has one writer at a time",
    ),
]

READER = SystemActor(name="wallboard", scopes=frozenset({Partition.PROFILE}))


def test_a_second_transaction_writes_its_entry_while_the_first_holds_its_own(customer):
    held, release = threading.Event(), threading.Event()
    first: list[AuditEntry] = []

    def hold_open() -> None:
        try:
            with transaction.atomic():
                first.append(
                    access_record(
                        actor=READER, customer=customer, partitions=[], purpose="held", outcome=""
                    )
                )
                held.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_open)
    holder.start()
    try:
        assert held.wait(timeout=10)
        with transaction.atomic():
            # Waiting on the first transaction's lock would fail here instead of hanging.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            second = access_record(
                actor=READER, customer=customer, partitions=[], purpose="meanwhile", outcome=""
            )
        assert AuditEntry.objects.filter(pk=second.pk).exists()  # committed, first still open
    finally:
        release.set()
        holder.join(timeout=30)
    assert first[0].shard != second.shard
    assert chain_verify().ok


def test_eight_readers_hold_their_reads_open_at_once(customer):
    readers = 8
    everyone_read = threading.Barrier(readers, timeout=20)
    written: list[int | None] = []
    failures: list[BaseException] = []

    def read() -> None:
        try:
            with transaction.atomic():
                context_read(
                    actor=READER, customer=customer, partitions=["profile"], purpose="wallboard"
                )
                mine = AuditEntry.objects.filter(purpose="wallboard").order_by("-pk")
                written.append(mine.values_list("pk", flat=True).first())
                # Every reader is inside its transaction, its audit entry written, at once:
                # with one lock for all, the first would hold it and the barrier would break.
                everyone_read.wait()
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    shards = AuditEntry.objects.filter(pk__in=written).values_list("shard", flat=True)
    assert len(set(shards)) == readers
    report = chain_verify()
    assert report.ok and report.found == AuditEntry.objects.count()
