# Issue 17 (hand-offs and summaries): what a customer was in the middle of when they switched.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("memory", "0010_console")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="channelswitch",
            name="topic",
            field=models.CharField(blank=True, max_length=200),
        ),
    ]
