"""Who is refused for guessing: the login lockout (django-axes) and, for the doors other
systems knock on (Twilio signatures, the e-mail webhook's basic auth, REST and MCP tokens),
failed credentials counted per client address (django-ratelimit) and answered 429 past a limit.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django_ratelimit.core import get_usage

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.http import HttpRequest

logger = logging.getLogger(__name__)

DOORS = frozenset({"twilio", "email", "api", "mcp"})


class LoginLockoutBackend(AxesStandaloneBackend):  # type: ignore[misc]  # axes ships no types
    """django-axes' lockout check for every login made over HTTP.

    Logins without a request (Django's test client, management commands) have nothing to
    count by; axes would refuse them outright, so they pass on to the next backend.
    """

    def authenticate(
        self, request: HttpRequest | None, *args: Any, **credentials: Any
    ) -> AbstractBaseUser | None:
        if request is None:
            return None
        result: AbstractBaseUser | None = super().authenticate(request, *args, **credentials)
        return result


def address_from(*, remote_addr: str, headers: Mapping[str, str]) -> str:
    """The client's address: REMOTE_ADDR, or behind a proxy the last entry of the header it
    sets (RAPPORT_CLIENT_IP_HEADER), which the proxy wrote and the client cannot forge.
    "" when neither is an IP address."""
    header = settings.RAPPORT_CLIENT_IP_HEADER
    if header:
        forwarded = headers.get(header.lower()) or headers.get(header) or ""
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops and _is_ip(hops[-1]):
            return hops[-1]
    return remote_addr if _is_ip(remote_addr) else ""


def _is_ip(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def client_address(request: HttpRequest) -> str | None:
    """The request's client address for django-axes (None when unknown, as axes expects)."""
    found = address_from(
        remote_addr=request.META.get("REMOTE_ADDR") or "",
        headers={k.lower(): v for k, v in request.headers.items()},
    )
    return found or None


def _usage(door: str, address: str, *, increment: bool) -> dict[str, Any] | None:
    if door not in DOORS:
        raise ValueError(f"unknown door {door!r}")
    try:
        usage: dict[str, Any] | None = get_usage(
            None,
            group=f"auth-failures:{door}",
            key=functools.partial(_fixed_key, address),
            rate=settings.RAPPORT_AUTH_FAILURE_RATES[door],
            increment=increment,
        )
    except Exception:  # noqa: BLE001 - the cache is down: refuse no one for it
        logger.exception("counting failed credentials at %s: the cache is unreachable", door)
        return None
    if usage is not None and usage["time_left"] < 0:
        return None  # django-ratelimit's answer when the cache lost the count: fail open
    return usage


def _fixed_key(address: str, group: str, request: object) -> str:
    return address or "unknown"


def locked_out(*, door: str, address: str) -> bool:
    """Whether `address` has used up its failed attempts at `door` for the current window."""
    usage = _usage(door, address, increment=False)
    return usage is not None and usage["count"] >= usage["limit"]


def failure_record(*, door: str, address: str) -> None:
    """Count one failed attempt at `door` from `address`."""
    _usage(door, address, increment=True)


def seconds_until_reset(*, door: str, address: str) -> int:
    usage = _usage(door, address, increment=False)
    return max(1, int(usage["time_left"])) if usage else 1
