"""Normalising the addresses customers reach us from, so one person has one identity per address."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from memory.models import Channel, Identity

CHANNEL_IDENTITY_KIND: dict[str, str] = {
    Channel.SMS: Identity.Kind.PHONE,
    Channel.VOICE: Identity.Kind.PHONE,
    Channel.EMAIL: Identity.Kind.EMAIL,
    Channel.CHAT: Identity.Kind.OTHER,
}


class InvalidAddress(ValueError):
    """An address that cannot be an identity (not a phone number, not an e-mail)."""


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """Return the E.164 form of a phone number written any common way."""
    region = region or settings.RAPPORT_DEFAULT_PHONE_REGION
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException as error:
        raise InvalidAddress(f"not a phone number: {raw!r}") from error
    if not phonenumbers.is_possible_number(number):
        raise InvalidAddress(f"not a possible phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    """Return the e-mail address lower-cased and stripped of any display name."""
    address = raw.strip()
    if "<" in address and address.endswith(">"):
        address = address[address.rindex("<") + 1 : -1]
    address = address.strip().lower()
    try:
        validate_email(address)
    except ValidationError as error:
        raise InvalidAddress(f"not an e-mail address: {raw!r}") from error
    return address


def normalize_identity(kind: str, raw: str) -> str:
    """Normalise an address for its identity kind."""
    if kind == Identity.Kind.PHONE:
        return normalize_phone(raw)
    if kind == Identity.Kind.EMAIL:
        return normalize_email(raw)
    value = raw.strip()
    if not value:
        raise InvalidAddress("empty identity")
    return value


def identity_kind_for_channel(channel: str) -> str:
    """Which kind of identity an inbound address on this channel is."""
    try:
        return CHANNEL_IDENTITY_KIND[channel]
    except KeyError:
        raise InvalidAddress(f"unknown channel: {channel!r}") from None
