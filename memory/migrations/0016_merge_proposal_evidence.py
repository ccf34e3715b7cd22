# Issue 12 (identity): a merge proposal keeps the kinds of evidence it rests on ("reference",
# "contact", ...), so later evidence can tell a pair a customer made by stating their own e-mail
# from a pair made by someone quoting another customer's reference.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("memory", "0015_gate_speed")]

    operations = [
        migrations.AddField(
            model_name="mergeproposal",
            name="evidence",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
