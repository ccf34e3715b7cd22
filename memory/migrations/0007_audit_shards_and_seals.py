"""The audit chain in shards, with every entry (change entries too) chained, its personal
fields hashed, and signed seals. Existing entries are adopted into shard 0 as they stand: run
`audit verify` on the old version first if the trail before the upgrade is in doubt. The new
constraints follow in 0008, in a transaction of their own (PostgreSQL alters no table with the
adoption's row changes pending)."""

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def adopt_trail(apps, schema_editor):
    """Re-chain the entries written before (in the order they were written) into shard 0 and
    give every shard its head row."""
    from memory.audit import CHAIN_SHARDS, GENESIS, chain_link, content_hash, personal_hash

    AuditEntry = apps.get_model("memory", "AuditEntry")
    AuditChain = apps.get_model("memory", "AuditChain")
    AuditChain.objects.all().delete()
    previous, before, seq = GENESIS, GENESIS, 0
    # Read in slices by id, not through one open cursor: SQLite does not isolate a SELECT from
    # the UPDATEs the same connection makes meanwhile.
    pks = list(AuditEntry.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), 2000):
        batch = list(AuditEntry.objects.filter(pk__in=pks[start : start + 2000]).order_by("pk"))
        for entry in batch:
            seq += 1
            entry.personal_hash = personal_hash(entry)
            entry.content_hash = content_hash(entry)
            entry.shard, entry.seq, entry.prev_hash = 0, seq, previous
            entry.chain_hash = chain_link(shard=0, seq=seq, previous=previous, content=entry.content_hash)
            before, previous = previous, entry.chain_hash
        _save(AuditEntry, batch, schema_editor)
    AuditChain.objects.bulk_create(
        [
            AuditChain(shard=0, seq=seq, head_hash=previous, prev_hash=before)
            if shard == 0
            else AuditChain(shard=shard, seq=0, head_hash=GENESIS, prev_hash=GENESIS)
            for shard in range(CHAIN_SHARDS)
        ]
    )


def _save(model, batch, schema_editor):
    """One UPDATE ... FROM (VALUES ...) per batch on PostgreSQL (bulk_update's CASE grows with
    the batch); one prepared UPDATE per row on SQLite, which is in-process anyway."""
    if not batch:
        return
    table = schema_editor.quote_name(model._meta.db_table)
    columns = ["shard", "seq", "personal_hash", "content_hash", "prev_hash", "chain_hash"]
    rows = [[getattr(e, c) for c in columns] + [e.pk] for e in batch]
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor != "postgresql":
            assignments = ", ".join(f"{c} = %s" for c in columns)
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", rows)
            return
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))
        cursor.execute(
            f"UPDATE {table} SET " + ", ".join(f"{c} = v.{c}" for c in columns)
            + f" FROM (VALUES {values}) AS v({', '.join(columns)}, id) WHERE {table}.id = v.id",
            [value for row in rows for value in row],
        )


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("memory", "0006_apiclient_actor_quarantine"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditSeal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sealed_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("heads", models.JSONField(help_text="shard -> [seq, chain hash]")),
                ("entries", models.PositiveBigIntegerField(help_text="Entries sealed, all shards together.")),
                ("previous", models.CharField(help_text="Root of the seal before.", max_length=64, unique=True)),
                ("root", models.CharField(max_length=64, unique=True)),
                ("signature", models.CharField(max_length=64)),
            ],
            options={"ordering": ["-pk"]},
        ),
        migrations.AddField(
            model_name="auditchain",
            name="shard",
            field=models.PositiveSmallIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="auditchain",
            name="prev_hash",
            field=models.CharField(default="0" * 64, help_text="The chain hash before the newest entry.", max_length=64),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="personal_hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="prev_hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="shard",
            field=models.PositiveSmallIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="seq",
            field=models.PositiveBigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(adopt_trail, migrations.RunPython.noop),
    ]
