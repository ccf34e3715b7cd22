"""Each shard has one head row and each place in a shard one entry (after 0007 adopted the
trail, in a transaction of its own)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("memory", "0007_audit_shards_and_seals"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditchain",
            name="shard",
            field=models.PositiveSmallIntegerField(unique=True),
        ),
        migrations.AddConstraint(
            model_name="auditentry",
            constraint=models.UniqueConstraint(fields=("shard", "seq"), name="audit_entry_one_per_place"),
        ),
    ]
