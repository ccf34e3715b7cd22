# Issue 12 (memory and identity): who claimed an address before its owner wrote from it.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("memory", "0011_handoffs_and_summaries")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="identity",
            name="claimed_by",
            field=models.ForeignKey(
                blank=True,
                help_text="The record whose sender claimed this address before it was verified.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="memory.customer",
            ),
        ),
    ]
