"""The workflow of people moves here from channels_app (tables taken over as they are, then
renamed): presence, reply drafts, response clocks. Agents' quarantine flags give way to
memory's ActorQuarantine (copied there by memory 0006)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orchestrator", "0005_entities_agent_reads_contact_details"),
        ("channels_app", "0003_api_client"),
        ("memory", "0006_apiclient_actor_quarantine"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.CreateModel(
            name='AgentPresence',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('online', 'Online'), ('busy', 'Busy'), ('away', 'Away')], default='away', max_length=10)),
                ('capacity', models.PositiveSmallIntegerField(default=3, help_text='How many conversations the agent works at once.')),
                ('changed_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='presence', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'channels_app_agentpresence',
                'verbose_name_plural': 'agent presence',
                'constraints': [models.CheckConstraint(condition=models.Q(('capacity__gte', 1)), name='presence_capacity_positive')],
            },
        ),
        migrations.CreateModel(
            name='ReplyDraft',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('text', models.TextField()),
                ('author_agent', models.CharField(blank=True, max_length=100)),
                ('status', models.CharField(choices=[('pending', 'Waiting for approval'), ('sent', 'Approved and sent'), ('discarded', 'Discarded')], default='pending', max_length=10)),
                ('edited', models.BooleanField(default=False)),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reply_drafts', to='memory.conversation')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('inbound_message', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='memory.message')),
                ('sent_message', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='memory.message')),
            ],
            options={
                'db_table': 'channels_app_replydraft',
                'ordering': ['-created_at'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'pending')), fields=('conversation',), name='reply_draft_one_pending_per_conversation')],
            },
        ),
        migrations.CreateModel(
            name='ResponseClock',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('first', 'First response'), ('next', 'Next response')], max_length=5)),
                ('channel', models.CharField(max_length=10)),
                ('state', models.CharField(choices=[('running', 'Running'), ('answered', 'Answered'), ('released', 'Released to automation')], default='running', max_length=10)),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('due_at', models.DateTimeField()),
                ('answered_at', models.DateTimeField(blank=True, null=True)),
                ('breached_at', models.DateTimeField(blank=True, help_text='When supervisors were alerted that it ran out.', null=True)),
                ('agent', models.ForeignKey(blank=True, help_text='Who answered, or who had the conversation when the clock ran out.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='response_clocks', to='memory.conversation')),
                ('handoff', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='response_clocks', to='memory.handoff')),
            ],
            options={
                'db_table': 'channels_app_responseclock',
                'ordering': ['due_at'],
                'indexes': [models.Index(fields=['state', 'due_at'], name='channels_ap_state_34b898_idx'), models.Index(fields=['started_at'], name='channels_ap_started_46fea0_idx')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('state', 'running')), fields=('conversation',), name='response_clock_one_running_per_conversation')],
            },
        ),
            ],
        ),
        migrations.AlterModelTable(name="agentpresence", table=None),
        migrations.AlterModelTable(name="replydraft", table=None),
        migrations.AlterModelTable(name="responseclock", table=None),
        migrations.RenameIndex(
            model_name="responseclock",
            new_name="orchestrato_state_ac284d_idx",
            old_name="channels_ap_state_34b898_idx",
        ),
        migrations.RenameIndex(
            model_name="responseclock",
            new_name="orchestrato_started_163e1e_idx",
            old_name="channels_ap_started_46fea0_idx",
        ),
        migrations.RemoveField(model_name="agentconfig", name="quarantined"),
        migrations.RemoveField(model_name="agentconfig", name="quarantine_reason"),
        migrations.RemoveField(model_name="agentconfig", name="quarantine_kind"),
        migrations.RemoveField(model_name="agentconfig", name="quarantined_at"),
        migrations.RemoveField(model_name="agentconfig", name="quarantine_detection_ms"),
        migrations.RemoveField(model_name="agentconfig", name="quarantine_lifted_at"),
    ]
