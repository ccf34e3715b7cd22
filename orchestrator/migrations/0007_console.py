# Issue 16 (console). Placeholder slot so parallel work can't create conflicting leaves; filled by hand.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0006_people_workflow_from_channels")]

    operations: list[migrations.operations.base.Operation] = []
