"""Property tests through the real entry points: whatever form body a signed Twilio request or
an authenticated SendGrid post carries, and whatever a token-holding REST client sends, the
answer is never a 500. EDGE_FUZZ_EXAMPLES raises the number of examples for a longer run."""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.channels_app.conftest import (
    BOUNDARY,
    PUBLIC_URL,
    basic_auth,
    multipart_body,
    new_sid,
    sign,
)

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("EDGE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TALLY: Counter[str] = Counter()

# Values that broke the edge before: NUL, digits isdigit() accepts but int() refuses, numbers
# too long for a column, and plain junk; mixed with well-formed values so deeper code runs.
NASTY = st.sampled_from(
    ["", "\x00", "²", "٣", "9" * 31, "9" * 5000, "-1", "NaN", "<[>", "+" + "1" * 400, "x" * 400]
)
TEXT = st.one_of(NASTY, st.text(max_size=60), st.text(alphabet="0123456789+", max_size=20))


def phone() -> st.SearchStrategy[str]:
    return st.one_of(st.just("+14155550101"), st.just("+14155550000"), TEXT)


def sid(prefix: str) -> st.SearchStrategy[str]:
    return st.one_of(st.builds(new_sid, st.just(prefix)), TEXT)


def form(fields: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[dict[str, str]]:
    """Form bodies with any subset of `fields`, plus a stray field now and then."""
    optional = {name: strategy for name, strategy in fields.items()}
    return st.fixed_dictionaries({}, optional=optional).flatmap(
        lambda body: st.dictionaries(TEXT.filter(bool), TEXT, max_size=2).map(
            lambda extra: {**extra, **body}
        )
    )


def _post_signed(http: Client, path: str, params: dict[str, str]) -> int:
    signature = sign(PUBLIC_URL + path, params)
    response = http.post(path, params, headers={"X-Twilio-Signature": signature})
    TALLY["requests"] += 1
    TALLY[f"status {response.status_code}"] += 1
    return response.status_code


SMS_FIELDS = {
    "MessageSid": sid("SM"),
    "AccountSid": sid("AC"),
    "From": phone(),
    "To": phone(),
    "Body": TEXT,
    "NumMedia": TEXT,
    "MediaUrl0": TEXT,
    "MediaContentType0": TEXT,
    "NumSegments": TEXT,
}
CALL_FIELDS = {
    "CallSid": sid("CA"),
    "AccountSid": sid("AC"),
    "From": phone(),
    "To": phone(),
    "CallStatus": st.one_of(st.just("completed"), TEXT),
    "CallDuration": TEXT,
    "SpeechResult": TEXT,
    "Confidence": TEXT,
}
QUERY = st.one_of(
    st.just(""),
    st.builds(lambda v: v, st.sampled_from(["1", "2", "%C2%B2"])),
    st.text(alphabet="0123456789", min_size=1, max_size=40),
)


@FUZZ
@given(body=form(SMS_FIELDS))
def test_signed_sms_webhook_never_answers_500(body):
    http = Client(raise_request_exception=False)
    assert _post_signed(http, "/twilio/sms/", body) < 500


@FUZZ
@given(body=form({**SMS_FIELDS, "MessageStatus": TEXT, "ErrorCode": TEXT}), message=QUERY)
def test_signed_sms_status_webhook_never_answers_500(body, message):
    http = Client(raise_request_exception=False)
    assert _post_signed(http, f"/twilio/sms/status/?message={message}", body) < 500


@FUZZ
@given(
    body=form(CALL_FIELDS),
    path=st.sampled_from(["/twilio/voice/", "/twilio/voice/status/"]),
)
def test_signed_voice_webhooks_never_answer_500(body, path):
    http = Client(raise_request_exception=False)
    assert _post_signed(http, path, body) < 500


@FUZZ
@given(body=form(CALL_FIELDS), turn=QUERY, attempt=QUERY, pickup=st.booleans())
def test_signed_voice_turns_never_answer_500(body, turn, attempt, pickup):
    http = Client(raise_request_exception=False)
    path = (
        f"/twilio/voice/reply/?turn={turn}&attempt={attempt}"
        if pickup
        else (f"/twilio/voice/gather/?turn={turn}")
    )
    assert _post_signed(http, path, body) < 500


HEADER_LINES = st.lists(
    st.sampled_from(
        [
            "Message-ID: <[>",
            "Message-ID: <" + "y" * 400 + "@example.com>",
            "Message-ID: <a1@example.com>",
            "In-Reply-To: <a1@example.com>",
            "References: <" + "z" * 400 + "@example.com> <a1@example.com>",
            "Subject: =?bogus?q?hello?=",
            "Subject: " + "s" * 500,
            "From: =?utf-8?b?////?= <ana@example.com>",
            'From: "Ana" <' + "a" * 300 + "@example.com>",
            "To: <<>>",
            "Content-Type: text/plain; charset=bogus",
            "Content-Type: multipart/mixed; boundary=",
            "Date: not a date",
        ]
    ),
    max_size=6,
)


@FUZZ
@given(
    headers=HEADER_LINES,
    text=TEXT,
    raw=st.booleans(),
    sender=st.one_of(st.just("Ana <ana@example.com>"), TEXT),
    charsets=st.one_of(st.just(""), st.just('{"text": "bogus"}'), TEXT),
)
def test_authenticated_email_webhook_never_answers_500(headers, text, raw, sender, charsets):
    http = Client(raise_request_exception=False)
    header_block = "\r\n".join(headers)
    if raw:
        fields: dict[str, str | bytes] = {
            "email": f"From: {sender}\r\nTo: help@shop.example\r\n{header_block}\r\n\r\n{text}"
        }
    else:
        fields = {"from": sender, "text": text, "headers": header_block, "charsets": charsets}
    response = http.generic(
        "POST",
        "/email/inbound/",
        multipart_body(fields),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        headers={"Authorization": basic_auth()},
    )
    TALLY["requests"] += 1
    TALLY[f"status {response.status_code}"] += 1
    assert response.status_code < 500, response.content


def test_api_schema_fuzzed_by_schemathesis_answers_no_500(api_as, known_customer):
    """Every operation in /api/schema/, fuzzed by schemathesis as a client holding every scope."""
    token_client = api_as("fuzzer", "profile,identities,messages,business,emotion,pii")
    raw = token_client.get("/api/schema/", {"format": "json"}).json()
    token = token_client._credentials["HTTP_AUTHORIZATION"]
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = get_wsgi_application()
    failures: list[str] = []
    # As Django's test client does: the test's transaction must outlive each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        _fuzz_operations(schema, token, failures)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert not failures, failures[:5]


def _fuzz_operations(schema, token: str, failures: list[str]) -> None:
    for result in schema.get_all_operations():
        operation = result.ok()

        @FUZZ
        @given(case=operation.as_strategy())
        def call(case):
            response = case.call(headers={"Authorization": token})
            TALLY["api requests"] += 1
            TALLY[f"api status {response.status_code}"] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query}")

        call()


def test_zz_report_fuzz_tally(capsys):
    """Prints what the property tests above sent and got (run with -s to see it)."""
    with capsys.disabled():
        print("\nedge fuzz tally:", dict(sorted(TALLY.items())))
    assert not any(key.endswith(("500", "502", "503")) for key in TALLY if "status 5" in key)
