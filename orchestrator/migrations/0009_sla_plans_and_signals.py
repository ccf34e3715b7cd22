# Issue 17 (SLA plans, signals): SLA plans in the admin, and the plan each response clock used.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0008_handoffs_and_summaries")]

    operations = [
        migrations.CreateModel(
            name="SlaPlan",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=80, unique=True)),
                (
                    "channel",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("sms", "SMS"),
                            ("voice", "Voice"),
                            ("email", "E-mail"),
                            ("chat", "Chat"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "customer_tier",
                    models.CharField(
                        blank=True,
                        help_text=(
                            'The customer\'s "tier" fact (e.g. gold), matched without regard'
                            " to case."
                        ),
                        max_length=40,
                    ),
                ),
                (
                    "intent",
                    models.CharField(
                        blank=True,
                        help_text="The intent of the message that was handed off.",
                        max_length=64,
                    ),
                ),
                (
                    "first_response_seconds",
                    models.PositiveIntegerField(
                        help_text="Time allowed for a person's first answer after a handoff."
                    ),
                ),
                (
                    "next_response_seconds",
                    models.PositiveIntegerField(
                        help_text=(
                            "Time allowed for each later answer, once the customer writes again."
                        )
                    ),
                ),
                (
                    "order",
                    models.PositiveIntegerField(
                        default=100,
                        help_text="Between equally specific plans, the lower order wins.",
                    ),
                ),
                ("enabled", models.BooleanField(default=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "SLA plan",
                "ordering": ["order", "name"],
                "indexes": [
                    models.Index(
                        fields=["enabled", "channel"], name="orchestrato_enabled_8da1e0_idx"
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("first_response_seconds__gt", 0), ("next_response_seconds__gt", 0)
                        ),
                        name="sla_plan_positive_targets",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="responseclock",
            name="plan",
            field=models.ForeignKey(
                blank=True,
                help_text="The SLA plan that set the target; empty when the default settings did.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="orchestrator.slaplan",
            ),
        ),
    ]
