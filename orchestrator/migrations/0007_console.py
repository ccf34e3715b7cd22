# Issue 16 (console): canned responses and wrap-up dispositions, with a starting list of each.
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

DISPOSITIONS = [
    ("solved", "Solved", 10),
    ("answered-question", "Question answered", 20),
    ("follow-up-needed", "Follow-up needed", 30),
    ("escalated", "Escalated to another team", 40),
    ("no-reply", "No reply from the customer", 50),
    ("spam", "Spam or wrong number", 60),
]
CANNED = [
    ("Greeting", "hi", "Hi, thanks for getting in touch. I'm looking into this for you now."),
    (
        "Checking",
        "checking",
        "Thanks for your patience. I'm checking the details and will update you shortly.",
    ),
    ("Anything else", "else", "Is there anything else I can help you with today?"),
]


def seed(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Disposition = apps.get_model("orchestrator", "Disposition")
    CannedResponse = apps.get_model("orchestrator", "CannedResponse")
    for name, label, order in DISPOSITIONS:
        Disposition.objects.get_or_create(name=name, defaults={"label": label, "order": order})
    for title, shortcut, body in CANNED:
        CannedResponse.objects.get_or_create(
            title=title, defaults={"shortcut": shortcut, "body": body}
        )


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0006_people_workflow_from_channels")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="CannedResponse",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("title", models.CharField(max_length=80, unique=True)),
                (
                    "shortcut",
                    models.SlugField(blank=True, help_text="Typed as /shortcut.", max_length=40),
                ),
                ("body", models.TextField(max_length=1600)),
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
                        help_text="Blank: every channel.",
                        max_length=10,
                    ),
                ),
                ("enabled", models.BooleanField(default=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={"ordering": ["title"]},
        ),
        migrations.CreateModel(
            name="Disposition",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.SlugField(max_length=60, unique=True)),
                ("label", models.CharField(max_length=80)),
                ("order", models.PositiveIntegerField(default=100)),
                ("enabled", models.BooleanField(default=True)),
            ],
            options={"ordering": ["order", "label"]},
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
