# Issue 15 (performance): `search` pages are the newest hits first, ten at a time. A common
# word matches a large share of the messages (or facts, or conversations): with these indexes
# PostgreSQL walks them newest first and stops at the page's end instead of sorting every
# match; a rare word still goes by the trigram index (0014_search). The planner picks per word.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("memory", "0014_search")]

    operations = [
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(
                fields=["-last_message_at", "-id"], name="conversation_newest_first"
            ),
        ),
        migrations.AddIndex(
            model_name="fact",
            index=models.Index(
                condition=models.Q(("valid_until__isnull", True)),
                fields=["-valid_from"],
                name="fact_current_newest_first",
            ),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["-sent_at", "-id"], name="message_newest_first"),
        ),
    ]
