# Issue 16 (console). Placeholder slot so parallel work can't create conflicting leaves; filled by hand.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("memory", "0009_reliability")]

    operations: list[migrations.operations.base.Operation] = []
