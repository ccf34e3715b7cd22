"""Configure the built-in agents, so a supervisor finds them in the admin from the start."""

from django.db import migrations

BUILTIN_AGENTS = {
    "intent": (["messages"], 2.0, "Why the customer is writing; asks for a person."),
    "sentiment": (["emotion"], 2.0, "How the customer feels in this message."),
    "entities": (["business"], 2.0, "References, contact details, dates, amounts, addresses."),
    "rules": (["business"], 1.0, "The business rules, on what the context answers."),
    "responder": (["profile", "business"], 1.0, "Replies from templates, filled from context."),
}


def configure(apps, schema_editor):
    AgentConfig = apps.get_model("orchestrator", "AgentConfig")
    for name, (scopes, timeout, description) in BUILTIN_AGENTS.items():
        AgentConfig.objects.get_or_create(
            name=name,
            defaults={
                "kind": "builtin",
                "scopes": scopes,
                "timeout_seconds": timeout,
                "description": description,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0002_pipeline_runs_agents_rules")]

    operations = [migrations.RunPython(configure, migrations.RunPython.noop)]
