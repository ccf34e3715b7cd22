"""The console's working state moved to orchestrator and API clients to memory: drop them from
this app's state only (their tables now belong to those apps)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0003_api_client"),
        ("memory", "0006_apiclient_actor_quarantine"),
        ("orchestrator", "0006_people_workflow_from_channels"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="AgentPresence"),
                migrations.DeleteModel(name="ReplyDraft"),
                migrations.DeleteModel(name="ResponseClock"),
                migrations.DeleteModel(name="ApiClient"),
            ],
        ),
    ]
