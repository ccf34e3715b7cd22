"""Twilio's fields are held to Twilio's formats before anything is stored: a signature replayed
with its fields re-split is refused, and what cannot be stored is a 400, never a 500."""

from __future__ import annotations

import pytest

from memory.models import Message
from tests.channels_app.conftest import PUBLIC_URL, new_sid, sign, sms_params

pytestmark = pytest.mark.django_db

CALLER = "+14155550101"


def call_params(call_sid: str, **extra: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": "AC" + "1" * 32,
        "From": CALLER,
        "To": "+14155550000",
        "CallStatus": "in-progress",
        **extra,
    }


def test_signature_replayed_with_num_media_folded_into_message_sid_is_refused(
    client, django_capture_on_commit_callbacks
):
    original = sms_params()
    with django_capture_on_commit_callbacks(execute=True):  # recorded after commit
        answer = client.post(
            "/twilio/sms/",
            original,
            headers={"X-Twilio-Signature": sign(PUBLIC_URL + "/twilio/sms/", original)},
        )
    assert answer.status_code == 200
    # Twilio signs the URL plus each name and value run together, so moving "NumMedia" + "0"
    # into the end of MessageSid leaves the signature valid: a "new" message id.
    replay = {k: v for k, v in original.items() if k != "NumMedia"}
    replay["MessageSid"] = original["MessageSid"] + "NumMedia0"
    signature = sign(PUBLIC_URL + "/twilio/sms/", original)
    assert sign(PUBLIC_URL + "/twilio/sms/", replay) == signature

    response = client.post("/twilio/sms/", replay, headers={"X-Twilio-Signature": signature})

    assert response.status_code == 400
    assert b"MessageSid" in response.content
    assert Message.objects.filter(direction=Message.Direction.INBOUND).count() == 1


@pytest.mark.parametrize(
    "override",
    [
        {"MessageSid": "SM" + "a" * 400},
        {"MessageSid": "SMnot-a-sid"},
        {"To": "+1" + "5" * 400},
        {"From": "alice"},
        {"Body": "hello\x00world"},
        {"NumMedia": "²"},
        {"NumMedia": "9" * 40},
        {"AccountSid": "AC-nope"},
    ],
    ids=["long-sid", "bad-sid", "long-to", "word-from", "nul-body", "superscript", "huge", "acct"],
)
def test_sms_fields_outside_twilio_formats_are_400_and_nothing_is_stored(twilio_post, override):
    response = twilio_post("/twilio/sms/", sms_params(**override))

    assert response.status_code == 400
    assert not Message.objects.exists()


def test_sms_status_with_an_unstorable_message_id_is_400(twilio_post):
    params = {"MessageSid": new_sid("SM"), "MessageStatus": "delivered"}
    assert twilio_post("/twilio/sms/status/?message=" + "9" * 31, params).status_code == 400
    assert twilio_post("/twilio/sms/status/?message=12", params).status_code == 200


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/twilio/voice/status/", {"CallStatus": "completed", "CallDuration": "²"}),
        ("/twilio/voice/status/", {"CallStatus": "completed", "CallDuration": "9" * 30}),
        ("/twilio/voice/gather/?turn=" + "9" * 5000, {"SpeechResult": "hello"}),
        ("/twilio/voice/gather/?turn=%C2%B2", {"SpeechResult": "hello"}),
        ("/twilio/voice/reply/?turn=1&attempt=" + "9" * 5000, {}),
        ("/twilio/voice/", {"From": "+1" + "4" * 300}),
        ("/twilio/voice/", {"CallSid": "CA" + "f" * 400}),
        ("/twilio/voice/gather/?turn=1", {"SpeechResult": "my \x00 address"}),
    ],
    ids=[
        "duration-sup",
        "duration-huge",
        "turn-huge",
        "turn-sup",
        "attempt-huge",
        "from",
        "sid",
        "nul",
    ],
)
def test_voice_fields_outside_twilio_formats_are_400(twilio_post, path, extra):
    params = call_params(new_sid("CA"))
    params.update(extra)

    response = twilio_post(path, params)

    assert response.status_code == 400
    assert not Message.objects.filter(direction=Message.Direction.INBOUND).exists()


def test_a_withheld_caller_still_reaches_a_person(twilio_post):
    response = twilio_post("/twilio/voice/", call_params(new_sid("CA"), From="anonymous"))

    assert response.status_code == 200
    assert b"<Dial>" in response.content
