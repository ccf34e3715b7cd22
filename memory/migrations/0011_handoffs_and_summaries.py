# Issue 17 (hand-offs and summaries). Placeholder slot so parallel work can't create conflicting leaves; filled by hand.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("memory", "0010_console")]

    operations: list[migrations.operations.base.Operation] = []
