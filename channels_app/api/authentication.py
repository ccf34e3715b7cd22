"""Knowing an API call's client by its token (`Authorization: Token <token>`), and which actor a
request reads as: the client, or a signed-in person with their own permissions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from channels_app import lockouts
from memory.actors import Actor, ApiClientActor, UserActor
from memory.services.clients import api_client_actor_for_token

if TYPE_CHECKING:
    from rest_framework.request import Request


class ClientPrincipal:
    """What DRF calls the request's user for a client: authenticated, and no Django user."""

    is_authenticated = True
    is_anonymous = False
    pk = None

    def __init__(self, actor: ApiClientActor) -> None:
        self.actor = actor

    def __str__(self) -> str:
        return self.actor.label


class ApiClientTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[ClientPrincipal, ApiClientActor] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        # A client address that keeps presenting bad tokens is refused (429) until the window
        # of RAPPORT_AUTH_FAILURE_RATES["api"] ends, so tokens cannot be guessed at speed.
        address = lockouts.client_address(request._request) or ""
        if lockouts.locked_out(door="api", address=address):
            raise exceptions.Throttled(
                wait=lockouts.seconds_until_reset(door="api", address=address),
                detail="Too many failed token attempts from this address.",
            )
        if len(parts) != 2:
            lockouts.failure_record(door="api", address=address)
            raise exceptions.AuthenticationFailed("Give the token as: Token <token>.")
        actor = api_client_actor_for_token(token=parts[1].decode(errors="replace"))
        if actor is None:
            lockouts.failure_record(door="api", address=address)
            raise exceptions.AuthenticationFailed("Unknown or revoked client token.")
        return ClientPrincipal(actor), actor

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def request_actor(request: Request) -> Actor:
    """The actor the gate sees for this request."""
    if isinstance(request.auth, ApiClientActor):
        return request.auth
    # Every API view requires an authenticated caller, so this is a signed-in person.
    return UserActor.of(request.user)


class ApiClientTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "channels_app.api.authentication.ApiClientTokenAuthentication"
    name = "clientToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>`, as printed by `manage.py api_client create`.",
        }
