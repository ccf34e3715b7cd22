"""The MCP server driven by the SDK's own client: tools listed, `search` and `retrieve` read
through the gate as the client's actor, refused without a token or out of scope, audited."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from mcp import Client

from channels_app.api.mcp_server import server_build
from memory.models import AuditEntry

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _entries(label: str) -> list[AuditEntry]:
    return await sync_to_async(list)(
        AuditEntry.objects.filter(actor_label=label).order_by("timestamp")
    )


async def test_tools_are_listed_and_retrieve_reads_the_pack(issue_token, known_customer):
    token = await sync_to_async(issue_token)("assistant", "profile,identities,business,messages")
    async with Client(server_build(token=token)) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert {"search", "retrieve"} <= tools
        result = await client.call_tool(
            "retrieve", {"customer": "+1 415 555 0101", "partitions": ["profile", "business"]}
        )
    assert not result.is_error
    assert result.structured_content["customer_id"] == known_customer.pk
    assert "HO-364415" in result.structured_content["text"]
    [entry] = await _entries("mcp:assistant")
    assert entry.outcome == AuditEntry.Outcome.GRANTED and entry.purpose == "mcp: retrieve"


async def test_search_is_audited_and_does_not_leak_messages(issue_token, known_customer):
    token = await sync_to_async(issue_token)("narrow", "profile,business")
    async with Client(server_build(token=token)) as client:
        result = await client.call_tool("search", {"query": "cracked"})
    hits = result.structured_content["results"]
    assert hits and all(hit["kind"] != "message" for hit in hits)
    entries = await _entries("mcp:narrow")
    assert [e.object_id for e in entries] == [known_customer.pk]


async def test_out_of_scope_retrieve_is_refused_and_recorded(issue_token, known_customer):
    token = await sync_to_async(issue_token)("profile-only", "profile")
    async with Client(server_build(token=token)) as client:
        result = await client.call_tool(
            "retrieve", {"customer": str(known_customer.pk), "partitions": ["messages"]}
        )
    assert result.is_error
    [entry] = await _entries("mcp:profile-only")
    assert entry.outcome == AuditEntry.Outcome.REFUSED


async def test_calls_without_a_valid_token_are_refused(known_customer):
    async with Client(server_build(token="not-a-token")) as client:
        result = await client.call_tool("retrieve", {"customer": str(known_customer.pk)})
    assert result.is_error
    assert "token" in result.content[0].text


async def test_a_client_quarantined_is_refused_through_mcp_too(issue_token, known_customer):
    """One client is one actor, whichever door it reads through: a quarantine of `api:<name>`
    stops its MCP reads as well, and the refusal is recorded under its MCP label."""
    from memory.watch import actor_quarantine

    token = await sync_to_async(issue_token)("two-doors", "profile")
    await sync_to_async(actor_quarantine)(
        actor="api:two-doors", reason="by user:sam", quarantined_by="user:sam"
    )
    async with Client(server_build(token=token)) as client:
        result = await client.call_tool(
            "retrieve", {"customer": str(known_customer.pk), "partitions": ["profile"]}
        )
    assert result.is_error
    [entry] = await _entries("mcp:two-doors")
    assert entry.outcome == AuditEntry.Outcome.REFUSED
    assert entry.additional_data["reason"] == "the client is quarantined"


async def test_retrieve_by_phone_needs_identities(issue_token, known_customer):
    """A phone number resolved to a customer says whose it is: a client without `identities`
    is refused, and nothing about the customer is read."""
    token = await sync_to_async(issue_token)("no-identities", "profile,business")
    async with Client(server_build(token=token)) as client:
        by_phone = await client.call_tool("retrieve", {"customer": "+1 415 555 0101"})
        by_id = await client.call_tool(
            "retrieve", {"customer": str(known_customer.pk), "partitions": ["profile"]}
        )
    assert by_phone.is_error and "identities" in by_phone.content[0].text
    assert not by_id.is_error
    entries = await _entries("mcp:no-identities")
    assert [(e.object_id, e.partitions) for e in entries] == [(known_customer.pk, ["profile"])]


async def test_search_by_a_quarantined_client_is_an_error_not_an_empty_answer(
    issue_token, known_customer
):
    from memory.watch import actor_quarantine

    token = await sync_to_async(issue_token)("stopped-mcp", "profile,business")
    await sync_to_async(actor_quarantine)(
        actor="api:stopped-mcp", reason="by user:sam", quarantined_by="user:sam"
    )
    async with Client(server_build(token=token)) as client:
        nothing = await client.call_tool("search", {"query": "no such words anywhere"})
        something = await client.call_tool("search", {"query": "HO-364415"})
    assert nothing.is_error and "quarantined" in nothing.content[0].text
    assert something.is_error
