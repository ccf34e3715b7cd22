# Issue 14 (reliability): indexes for the sweeps that find stored messages never handed on
# (by age) and replies stuck `pending` or `sending` (a partial index: few rows are in flight).
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("memory", "0008_audit_place_constraints")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["created_at"], name="message_created_at"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(
                    ("delivery_status__in", ["pending", "sending"]), ("direction", "outbound")
                ),
                fields=["created_at"],
                name="message_outbound_in_flight",
            ),
        ),
    ]
