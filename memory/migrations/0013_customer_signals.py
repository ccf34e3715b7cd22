# Issue 17 (signals): churn risk and buying intent on the customer, with their evidence turns.
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("memory", "0012_identity")]

    operations = [
        migrations.CreateModel(
            name="CustomerSignal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("churn_risk", "Churn risk"), ("buying_intent", "Buying intent")],
                        max_length=20,
                    ),
                ),
                (
                    "score",
                    models.FloatField(default=0.0, help_text="0 (no sign) to 1 (certain)."),
                ),
                ("evidence", models.JSONField(blank=True, default=list)),
                ("model_name", models.CharField(blank=True, max_length=100)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="customer_signals",
                        to="memory.customer",
                    ),
                ),
            ],
            options={
                "ordering": ["-score"],
                "indexes": [
                    models.Index(fields=["kind", "-score"], name="memory_cust_kind_5bd229_idx")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("customer", "kind"), name="customer_signal_one_per_kind"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("score__gte", 0), ("score__lte", 1)),
                        name="customer_signal_score_in_range",
                    ),
                ],
            },
        ),
    ]
