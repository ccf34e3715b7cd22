# Issue 17 (SLA plans, signals). Placeholder slot so parallel work can't create conflicting leaves; filled by hand.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0008_handoffs_and_summaries")]

    operations: list[migrations.operations.base.Operation] = []
