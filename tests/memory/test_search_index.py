"""Search on PostgreSQL answers from trigram indexes (issue 15), finding what a scan finds:
parts of words, numbers and references, any case; on SQLite the same query scans."""

from __future__ import annotations

import pytest
from django.db import connection

from memory import services
from memory.actors import ALL_PARTITIONS, AgentActor
from memory.models import Channel, Fact, Message
from memory.selectors import context_search

pytestmark = pytest.mark.django_db

READER = AgentActor(name="search-test", scopes=ALL_PARTITIONS)


@pytest.fixture(autouse=True)
def _reads_need_no_run(settings):
    # A search is a read with no pipeline run behind it.
    settings.RAPPORT_ANOMALY_REQUIRE_RUN = False


def test_search_finds_parts_of_words_numbers_and_facts_in_any_case(customer):
    services.message_record_inbound(
        channel=Channel.SMS,
        sender="+14155550101",
        recipient="+14155550000",
        text="The Dishwasher from order 88123 leaks again",
    )
    services.fact_assert(
        customer=customer,
        key="address",
        value="12 Alder Lane",
        asserted_by=Fact.AssertedBy.AGENT,
    )

    def kinds(query: str) -> set[str]:
        return {hit.kind for hit in context_search(actor=READER, query=query, purpose="test")}

    assert "message" in kinds("dishwash")
    assert "message" in kinds("812")
    assert "fact" in kinds("ALDER")
    assert kinds("nothing like this") == set()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the indexes are PostgreSQL's")
@pytest.mark.parametrize(
    ("model", "field"),
    [(Message, "text"), (Fact, "value"), (Fact, "key")],
)
def test_the_search_filter_is_answered_from_a_trigram_index(model, field):
    """The index is over exactly the expression Django writes for `icontains`, so the planner
    can use it (made to prefer it here: the test tables are too small to need it)."""
    # Unordered: with an ordering the planner may walk a newest-first index instead (0015),
    # which is the right plan for a common word, and not what is asked here.
    queryset = model.objects.filter(**{f"{field}__icontains": "dishwasher"}).order_by().values("pk")
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"{model._meta.db_table}_{field}_trgm" in plan, plan
