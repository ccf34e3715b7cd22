"""How the webhooks answer: TwiML documents, and plain refusals naming what was wrong."""

from __future__ import annotations

from collections.abc import Mapping

from django.http import HttpResponse
from twilio.twiml import TwiML


def twiml_response(document: TwiML) -> HttpResponse:
    return HttpResponse(document.to_xml(), content_type="text/xml; charset=utf-8")


def missing_fields(present: Mapping[str, str], *names: str) -> HttpResponse | None:
    """A 400 naming the required fields the post lacked, or None when all are there."""
    absent = [name for name in names if not present.get(name, "").strip()]
    if not absent:
        return None
    return HttpResponse(f"missing fields: {', '.join(absent)}", status=400)


def bad_request(reason: str) -> HttpResponse:
    return HttpResponse(reason, status=400)
