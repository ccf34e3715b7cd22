# Issue 15 (performance). Placeholder slot so parallel work can't create conflicting leaves; filled by hand.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0009_sla_plans_and_signals")]

    operations: list[migrations.operations.base.Operation] = []
