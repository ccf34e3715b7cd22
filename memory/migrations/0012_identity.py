# Issue 12 (memory and identity). Placeholder slot so parallel work can't create conflicting leaves; filled by hand.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("memory", "0011_handoffs_and_summaries")]

    operations: list[migrations.operations.base.Operation] = []
