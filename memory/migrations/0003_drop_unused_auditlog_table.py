"""Drop auditlog's own entry table, which Rapport's AuditEntry replaces.

django-auditlog 3.4 creates `auditlog_logentry` even when AUDITLOG_LOGENTRY_MODEL swaps it out
(jazzband/django-auditlog#804); the unused table's foreign keys then break `flush`. It is only
dropped while empty, so no audit record can be lost by this migration.
"""

from __future__ import annotations

from django.db import migrations

TABLE = "auditlog_logentry"


def drop_if_empty(apps, schema_editor):
    connection = schema_editor.connection
    if TABLE not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")  # noqa: S608 - constant table name
        (rows,) = cursor.fetchone()
    if rows == 0:
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [
        ("memory", "0002_conversation_modes_versions_handoffs"),
        ("auditlog", "0017_add_actor_email"),
    ]

    operations = [migrations.RunPython(drop_if_empty, migrations.RunPython.noop)]
