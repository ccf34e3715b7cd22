"""ApiClient moves here from channels_app (its table is taken over as it is, then renamed): API
clients are actors, and the access watch that quarantines them lives in memory. Quarantines of
agents and clients become one ActorQuarantine row per actor, copied from the old flags."""

import django.utils.timezone
from django.db import migrations, models


def quarantines_copy(apps, schema_editor):
    ActorQuarantine = apps.get_model("memory", "ActorQuarantine")
    ApiClient = apps.get_model("memory", "ApiClient")
    AgentConfig = apps.get_model("orchestrator", "AgentConfig")
    now = django.utils.timezone.now()
    for client in ApiClient.objects.all():
        if client.quarantined or client.quarantine_lifted_at:
            ActorQuarantine.objects.create(
                actor=f"api:{client.name}",
                active=client.quarantined,
                reason=client.quarantine_reason or "quarantined",
                quarantined_at=client.quarantined_at or now,
                quarantined_by="system:anomaly-watch",
                lifted_at=client.quarantine_lifted_at,
            )
    for agent in AgentConfig.objects.all():
        if agent.quarantined or agent.quarantine_lifted_at:
            ActorQuarantine.objects.create(
                actor=f"agent:{agent.name}",
                active=agent.quarantined,
                anomaly=agent.quarantine_kind,
                reason=agent.quarantine_reason or "quarantined",
                quarantined_at=agent.quarantined_at or now,
                quarantined_by="system:anomaly-watch",
                detection_ms=agent.quarantine_detection_ms,
                lifted_at=agent.quarantine_lifted_at,
            )


class Migration(migrations.Migration):
    dependencies = [
        ("memory", "0005_audit_chain_and_erasure"),
        ("channels_app", "0003_api_client"),
        ("orchestrator", "0005_entities_agent_reads_contact_details"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.CreateModel(
            name='ApiClient',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.SlugField(max_length=60, unique=True)),
                ('token_hash', models.CharField(editable=False, max_length=64, unique=True)),
                ('scopes', models.JSONField(blank=True, default=list, help_text='Context partitions it may read: profile, identities, messages, business, emotion, pii.')),
                ('active', models.BooleanField(default=True, help_text='Off once revoked: its token stops working.')),
                ('quarantined', models.BooleanField(default=False, help_text='Set by the access watch: its reads are refused until cleared.')),
                ('quarantine_reason', models.CharField(blank=True, max_length=300)),
                ('quarantined_at', models.DateTimeField(blank=True, null=True)),
                ('quarantine_lifted_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'db_table': 'channels_app_apiclient',
                'verbose_name': 'API client',
                'ordering': ['name'],
            },
        ),
            ],
        ),
        migrations.CreateModel(
            name="ActorQuarantine",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("actor", models.CharField(help_text="agent:responder, api:crm", max_length=150, unique=True)),
                ("active", models.BooleanField(default=True)),
                ("anomaly", models.CharField(blank=True, help_text="Which anomaly put it there, if the watch did.", max_length=30)),
                ("reason", models.CharField(max_length=300)),
                ("quarantined_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("quarantined_by", models.CharField(help_text="The watch, or the person.", max_length=150)),
                ("detection_ms", models.FloatField(blank=True, help_text="From the offending read to the quarantine.", null=True)),
                ("lifted_at", models.DateTimeField(blank=True, help_text="Reads before it no longer count towards anomalies.", null=True)),
                ("lifted_by", models.CharField(blank=True, max_length=150)),
            ],
            options={
                "ordering": ["-quarantined_at"],
                "constraints": [models.CheckConstraint(condition=models.Q(("reason", ""), _negated=True), name="actor_quarantine_says_why")],
            },
        ),
        migrations.RunPython(quarantines_copy, migrations.RunPython.noop),
        migrations.RemoveField(model_name="apiclient", name="quarantined"),
        migrations.RemoveField(model_name="apiclient", name="quarantine_reason"),
        migrations.RemoveField(model_name="apiclient", name="quarantined_at"),
        migrations.RemoveField(model_name="apiclient", name="quarantine_lifted_at"),
        migrations.AlterModelTable(name="apiclient", table=None),
    ]
