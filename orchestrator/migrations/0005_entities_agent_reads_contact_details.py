"""The entities agent links the contact details customers state, so it reads `pii`."""

from django.db import migrations


def grant(apps, schema_editor):
    AgentConfig = apps.get_model("orchestrator", "AgentConfig")
    for config in AgentConfig.objects.filter(name="entities", kind="builtin"):
        if "pii" not in config.scopes:
            config.scopes = [*config.scopes, "pii"]
            config.save(update_fields=["scopes"])


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0004_agent_quarantine_detection")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
