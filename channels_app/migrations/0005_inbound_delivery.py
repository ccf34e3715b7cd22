import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0004_models_moved_to_memory_and_orchestrator"),
    ]

    operations = [
        migrations.CreateModel(
            name="InboundDelivery",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("channel", models.CharField(max_length=10)),
                (
                    "provider_id",
                    models.CharField(help_text="MessageSid, or the e-mail's id.", max_length=100),
                ),
                ("fields", models.JSONField(blank=True, default=dict)),
                ("received_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("recorded_at", models.DateTimeField(blank=True, null=True)),
                (
                    "refused",
                    models.CharField(blank=True, help_text="Why it is no message.", max_length=200),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("channel", "provider_id"),
                        name="inbound_delivery_unique_provider_id",
                    )
                ],
                "indexes": [
                    models.Index(
                        condition=models.Q(("recorded_at__isnull", True)),
                        fields=["received_at"],
                        name="inbound_delivery_unrecorded",
                    )
                ],
            },
        ),
    ]
