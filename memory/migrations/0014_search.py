# Issue 15 (performance): trigram indexes behind `search` on PostgreSQL; nothing on SQLite.
#
# The search selectors match substrings case-insensitively (`icontains`), which Django writes
# on PostgreSQL as UPPER("column"::text) LIKE UPPER('%words%'): a sequential scan of every
# message without an index. A GIN index of pg_trgm trigrams over exactly that expression
# answers it from the index, with the same results as before (phone numbers, references and
# parts of words included, which full-text stemming would not find). SQLite keeps its scan.
from django.db import migrations

# (table, column) pairs the search selectors filter with `icontains`.
SEARCHED = [
    ("memory_message", "text"),
    ("memory_fact", "value"),
    ("memory_fact", "key"),
    ("memory_case", "title"),
    ("memory_conversation", "subject"),
    ("memory_conversation", "summary"),
    ("memory_customer", "display_name"),
]


def _index(table: str, column: str) -> str:
    return f"{table}_{column}_trgm"


class PostgreSQLOnly(migrations.RunSQL):
    """RunSQL on PostgreSQL; on any other database, nothing (SQLite searches by scanning)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("memory", "0013_customer_signals")]

    operations: list[migrations.operations.base.Operation] = [
        PostgreSQLOnly(
            sql="CREATE EXTENSION IF NOT EXISTS pg_trgm",
            # Other databases on the server may use it: it stays.
            reverse_sql=migrations.RunSQL.noop,
        ),
        *[
            PostgreSQLOnly(
                sql=(
                    f'CREATE INDEX IF NOT EXISTS "{_index(table, column)}" ON "{table}" '
                    f'USING gin ((UPPER(("{column}")::text)) gin_trgm_ops)'
                ),
                reverse_sql=f'DROP INDEX IF EXISTS "{_index(table, column)}"',
            )
            for table, column in SEARCHED
        ],
    ]
