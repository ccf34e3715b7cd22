"""Who may post to the webhooks: Twilio's request signature, SendGrid's basic-auth credentials
and optional ECDSA signature, and a body size limit that applies before anything is parsed.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from channels_app import lockouts

if TYPE_CHECKING:
    from django.http import HttpRequest

logger = logging.getLogger(__name__)

View = Callable[["HttpRequest"], HttpResponse]

SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


def public_url(request: HttpRequest) -> str:
    """The URL the provider called, as it saw it: behind a proxy or tunnel the public base
    from RAPPORT_PUBLIC_URL (minus any `#` connection-override fragment) plus path and query.
    """
    base = settings.RAPPORT_PUBLIC_URL.split("#", 1)[0].rstrip("/")
    if not base:
        return request.build_absolute_uri()
    return base + request.get_full_path()


def twilio_signature_is_valid(request: HttpRequest) -> bool:
    """Check X-Twilio-Signature over the public URL and every posted field, whatever arrives."""
    if not settings.TWILIO_VALIDATE_SIGNATURES:
        return True
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return bool(validator.validate(public_url(request), request.POST, signature))


def basic_auth_status(request: HttpRequest) -> int | None:
    """None when the e-mail webhook's basic-auth credentials match; else 401 (none sent) or 403.

    Both parts are compared in constant time so a wrong guess leaks nothing about the right one.
    """
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return 401
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return 403
    expected_user = settings.EMAIL_INBOUND_USER
    expected_password = settings.EMAIL_INBOUND_PASSWORD
    if not expected_user or not expected_password:
        logger.warning("EMAIL_INBOUND_USER/PASSWORD are not set: inbound e-mail is refused")
        return 403
    user_ok = hmac.compare_digest(user.encode(), expected_user.encode())
    password_ok = hmac.compare_digest(password.encode(), expected_password.encode())
    return None if user_ok and password_ok else 403


def sendgrid_public_key(raw: str) -> ec.EllipticCurvePublicKey:
    """Load SendGrid's verification key: a PEM block, or the bare base64 DER its console shows."""
    raw = raw.strip()
    if raw.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(raw.encode())
    else:
        key = serialization.load_der_public_key(base64.b64decode(raw))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("SENDGRID_WEBHOOK_PUBLIC_KEY is not an elliptic-curve key")
    return key


def sendgrid_signature_is_valid(
    *, body: bytes, signature: str, timestamp: str, now: float | None = None
) -> bool:
    """Verify SendGrid's ECDSA (SHA-256) signature over timestamp + raw body, and that the
    timestamp is fresh, so a captured post cannot be replayed later.
    """
    try:
        sent_at = int(timestamp)
        decoded = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        return False
    now = time.time() if now is None else now
    if abs(now - sent_at) > settings.SENDGRID_WEBHOOK_MAX_AGE_SECONDS:
        return False
    key = sendgrid_public_key(settings.SENDGRID_WEBHOOK_PUBLIC_KEY)
    try:
        key.verify(decoded, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def body_too_large(request: HttpRequest) -> bool:
    """Whether the body is over WEBHOOK_MAX_BODY_BYTES, judged by its declared length first so
    an oversized post is refused before it is read.
    """
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    if declared > limit:
        return True
    try:
        return len(request.body) > limit
    except RequestDataTooBig:
        return True


def too_many_failures(*, door: str, address: str) -> HttpResponse:
    """429 for an address that used up its failed attempts, saying when it may try again."""
    response = HttpResponse("too many failed attempts; try again later", status=429)
    response["Retry-After"] = str(lockouts.seconds_until_reset(door=door, address=address))
    return response


def webhook(
    *, authenticate: Callable[[HttpRequest], int | None], door: str
) -> Callable[[View], View]:
    """Wrap a provider webhook: POST only, no CSRF (providers sign instead), size limit, then
    `authenticate` (None to accept, or the status code to refuse with). Failed attempts are
    counted per client address at `door`; past the limit the address gets 429 until the
    window ends, right credentials or not.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(request: HttpRequest) -> HttpResponse:
            if body_too_large(request):
                return HttpResponse("request body too large", status=413)
            address = lockouts.client_address(request) or ""
            if lockouts.locked_out(door=door, address=address):
                logger.warning("webhook %s: %s is locked out", request.path, address)
                return too_many_failures(door=door, address=address)
            refusal = authenticate(request)
            if refusal is not None:
                lockouts.failure_record(door=door, address=address)
                logger.warning("webhook %s refused with %s", request.path, refusal)
                return HttpResponse("not authenticated", status=refusal)
            return view(request)

        return csrf_exempt(require_POST(guarded))

    return decorate


def twilio_authenticate(request: HttpRequest) -> int | None:
    return None if twilio_signature_is_valid(request) else 403


def sendgrid_authenticate(request: HttpRequest) -> int | None:
    refusal = basic_auth_status(request)
    if refusal is not None or not settings.SENDGRID_WEBHOOK_PUBLIC_KEY:
        return refusal
    valid = sendgrid_signature_is_valid(
        body=request.body,
        signature=request.headers.get(SENDGRID_SIGNATURE_HEADER, ""),
        timestamp=request.headers.get(SENDGRID_TIMESTAMP_HEADER, ""),
    )
    return None if valid else 403


twilio_webhook = webhook(authenticate=twilio_authenticate, door="twilio")
sendgrid_webhook = webhook(authenticate=sendgrid_authenticate, door="email")
