"""The Model Context Protocol server: `search` and `retrieve` tools over the gate, for LLM
agents. Each call reads as the client whose token it carries (stdio: RAPPORT_MCP_TOKEN; HTTP:
`Authorization: Bearer`), so it is scoped, redacted, audited and watched like an agent's read."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils.dateparse import parse_datetime
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel

from channels_app import lockouts
from memory.actors import ApiClientActor, Partition
from memory.identities import normalize_identity
from memory.models import Customer
from memory.selectors import (
    ContextAccessRefused,
    context_read,
    context_search,
    customer_find,
    customer_find_by_identity,
)
from memory.services.clients import api_client_actor_for_token

INSTRUCTIONS = (
    "Rapport is a contact center's memory of its customers. Use `search` to find customers, "
    "cases, facts, conversations and messages; use `retrieve` with a customer id, phone or "
    "e-mail for what is known about them now, most important first."
)


class FoundItem(BaseModel):
    kind: str
    customer_id: int
    object_id: int
    snippet: str
    at: str | None = None


class SearchResults(BaseModel):
    results: list[FoundItem]


class CustomerContext(BaseModel):
    customer_id: int
    text: str
    pack: dict[str, Any]


def bearer_token(headers: Mapping[str, str] | None) -> str:
    """The token of `Authorization: Bearer <token>`, or "" when there is none."""
    if not headers:
        return ""
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _when(raw: str | None, name: str) -> dt.datetime | None:
    if not raw:
        return None
    parsed = parse_datetime(raw)
    if parsed is None:
        raise ToolError(f"{name} must be an ISO 8601 date and time")
    return parsed


def _customer_named(customer: str, actor: ApiClientActor) -> tuple[Customer, bool]:
    """A customer by id, phone or e-mail, and whether it was found by phone or e-mail (which
    needs `identities`, and makes the read that follows one of identities too); no context
    is read finding them."""
    if customer.strip().isdigit():
        found = customer_find(customer_id=int(customer))
        by_identity = False
    else:
        if not actor.may_read(Partition.IDENTITIES):
            raise ToolError("finding a customer by phone or e-mail needs the identities scope")
        by_identity = True
        kind = "email" if "@" in customer else "phone"
        try:
            found = customer_find_by_identity(kind=kind, value=normalize_identity(kind, customer))
        except ValueError:
            found = None
    if found is None:
        raise ToolError(f"no customer {customer!r}")
    return found, by_identity


def server_build(*, token: str | None = None) -> MCPServer:
    """The server; with `token`, every call reads as that client (stdio, tests), else as the
    client of each HTTP request's bearer token."""
    server = MCPServer(name="rapport", instructions=INSTRUCTIONS)

    async def actor_of(ctx: Context) -> ApiClientActor:
        http_request = ctx.request_context.request
        headers = getattr(http_request, "headers", None)  # None on stdio and in memory
        presented = token if token is not None else bearer_token(headers)
        actor = await sync_to_async(api_client_actor_for_token)(token=presented, via="mcp")
        if actor is None:
            raise ToolError("a valid Rapport client token is required")
        return actor

    @server.tool(
        name="search",
        description="Find customers, cases, facts, conversations and messages by free text, "
        "phone, e-mail or case reference. Optional filters: channel (sms, voice, email, chat), "
        "since/until (ISO 8601), sentiment (positive, neutral, negative). Returns ids and "
        "short snippets, only of what this client may read.",
    )
    async def search(
        query: str,
        ctx: Context,
        channel: str | None = None,
        since: str | None = None,
        until: str | None = None,
        sentiment: str | None = None,
        limit: int = 10,
    ) -> SearchResults:
        actor = await actor_of(ctx)
        try:
            hits = await sync_to_async(context_search)(
                actor=actor,
                query=query,
                purpose="mcp: search",
                channel=channel or "",
                since=_when(since, "since"),
                until=_when(until, "until"),
                sentiment=sentiment or "",
                limit=max(1, min(limit, 25)),
            )
        except ContextAccessRefused as refused:
            raise ToolError(str(refused)) from None
        return SearchResults(results=[FoundItem(**hit.to_json()) for hit in hits])

    @server.tool(
        name="retrieve",
        description="What is known about one customer (an id, phone or e-mail): open cases, "
        "current facts, mood and recent turns, most important first, as text cut to `budget` "
        "words and as structured content. `partitions` defaults to all this client holds.",
    )
    async def retrieve(
        customer: str,
        ctx: Context,
        partitions: list[str] | None = None,
        budget: int = 150,
    ) -> CustomerContext:
        actor = await actor_of(ctx)
        try:
            asked = Partition.parse(partitions) if partitions else actor.scopes
        except ValueError as error:
            raise ToolError(str(error)) from None

        def read() -> CustomerContext:
            found, by_identity = _customer_named(customer, actor)
            pack = context_read(
                actor=actor,
                customer=found,
                partitions=asked | ({Partition.IDENTITIES} if by_identity else set()),
                purpose="mcp: retrieve",
            )
            return CustomerContext(
                customer_id=pack.customer_id,
                text=pack.render_text(word_budget=max(1, budget)),
                pack=pack.to_json(),
            )

        try:
            return await sync_to_async(read)()
        except ContextAccessRefused as refused:
            raise ToolError(str(refused)) from None

    @server.prompt(
        name="customer_brief",
        description="Brief an answer to a customer from what Rapport knows about them.",
    )
    def customer_brief(customer: str) -> str:
        return (
            f"Call `retrieve` with customer={customer!r}, then answer the customer using only "
            "what it returns; say so when something is not known."
        )

    return server


class McpHttpApp:
    """The MCP server over streamable HTTP as an ASGI app: refuses a request without a valid
    bearer token (401), and runs the SDK's session manager from the first request, since
    Daphne sends no lifespan events. Stateless, so any web process may answer any call."""

    def __init__(self) -> None:
        self.server = server_build()
        self.server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            transport_security=TransportSecuritySettings(
                enable_dns_rebinding_protection="*" not in settings.ALLOWED_HOSTS,
                allowed_hosts=[f"{host}:*" for host in settings.ALLOWED_HOSTS]
                + list(settings.ALLOWED_HOSTS),
                allowed_origins=[],
            ),
        )
        self._running: asyncio.Event | None = None

    async def _run_manager(self, ready: asyncio.Event) -> None:
        async with self.server.session_manager.run():
            ready.set()
            await asyncio.Event().wait()

    async def _ensure_running(self) -> None:
        if self._running is None:
            self._running = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run_manager(self._running))
        await self._running.wait()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client") or ("", 0)
        address = lockouts.address_from(remote_addr=str(client[0]), headers=headers)
        if await sync_to_async(lockouts.locked_out)(door="mcp", address=address):
            wait = await sync_to_async(lockouts.seconds_until_reset)(door="mcp", address=address)
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", str(wait).encode()),
                    ],
                }
            )
            await send(
                {
                    "type": "http.response.body",
                    "body": b'{"detail": "too many failed token attempts from this address"}',
                }
            )
            return
        actor = await sync_to_async(api_client_actor_for_token)(
            token=bearer_token(headers), via="mcp"
        )
        if actor is None:
            await sync_to_async(lockouts.failure_record)(door="mcp", address=address)
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer realm="rapport"'),
                    ],
                }
            )
            await send(
                {"type": "http.response.body", "body": b'{"detail": "a valid token is required"}'}
            )
            return
        await self._ensure_running()
        await self.server.session_manager.handle_request(scope, receive, send)
