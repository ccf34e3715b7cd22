# Issue 14 (reliability). Placeholder slot so parallel work can't create conflicting leaves; filled by hand.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("memory", "0008_audit_place_constraints")]

    operations: list[migrations.operations.base.Operation] = []
