# Issue 17 (signals). Placeholder slot so parallel work can't create conflicting leaves; filled by hand.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("memory", "0012_identity")]

    operations: list[migrations.operations.base.Operation] = []
