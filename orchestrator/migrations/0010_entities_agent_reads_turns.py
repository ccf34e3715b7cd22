"""The entities agent reads the customer's recent turns (`messages`): which stored value a new
one replaces is read from the words around the old value in the turn that stated it."""

from django.db import migrations


def grant(apps, schema_editor):
    AgentConfig = apps.get_model("orchestrator", "AgentConfig")
    for config in AgentConfig.objects.filter(name="entities", kind="builtin"):
        if "messages" not in config.scopes:
            config.scopes = [*config.scopes, "messages"]
            config.save(update_fields=["scopes"])


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0009_sla_plans_and_signals")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
