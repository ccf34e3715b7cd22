"""Twilio Voice webhooks: answering a call, each spoken turn, picking up a late reply, and
the call status callback that closes the conversation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from twilio.twiml.voice_response import VoiceResponse

from channels_app import services
from channels_app.webhooks import validation
from channels_app.webhooks.responses import bad_request, twiml_response
from channels_app.webhooks.security import twilio_webhook
from memory.identities import InvalidAddress
from memory.models import Conversation
from orchestrator.pipeline import VoiceReply
from orchestrator.tasks import conversation_wrap_up

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

# How many times a caller hears "one moment" before a late reply is given up on.
MAX_PICKUPS = 3
HOLDING_PHRASE = "One moment please."
NOTHING_HEARD = "Sorry, I didn't hear anything. Please call again any time. Goodbye."


def gather_url(turn: int) -> str:
    return f"/twilio/voice/gather/?turn={turn}"


def pickup_url(turn: int, attempt: int) -> str:
    return f"/twilio/voice/reply/?turn={turn}&attempt={attempt}"


def _listen(response: VoiceResponse, *, say: str, turn: int) -> VoiceResponse:
    """Say something, then listen for the caller's next turn."""
    gather = response.gather(
        input="speech", action=gather_url(turn), method="POST", speech_timeout="auto"
    )
    gather.say(say)
    response.say(NOTHING_HEARD)
    return response


def _hand_off(response: VoiceResponse, *, say: str) -> VoiceResponse:
    """Put the caller through to a person: the handoff number and/or softphone client (rung
    together), else the queue, else a promise of a call back (the handoff waits in the
    console's queue either way)."""
    if say:
        response.say(say)
    if settings.HUMAN_HANDOFF_CLIENT:
        dial = response.dial()
        dial.client(settings.HUMAN_HANDOFF_CLIENT)
        if settings.HUMAN_HANDOFF_NUMBER:
            dial.number(settings.HUMAN_HANDOFF_NUMBER)
    elif settings.HUMAN_HANDOFF_NUMBER:
        response.dial(settings.HUMAN_HANDOFF_NUMBER)
    elif settings.HUMAN_HANDOFF_QUEUE:
        response.enqueue(settings.HUMAN_HANDOFF_QUEUE)
    else:
        response.say("A member of our team will call you back shortly. Goodbye.")
        response.hangup()
    return response


def _ask_then_hand_off(response: VoiceResponse, *, say: str) -> VoiceResponse:
    """A caller who is with people: one short question, then through to a person whether they
    answer it (the gather turn stores it and puts them through) or stay silent (below)."""
    gather = response.gather(
        input="speech", action=gather_url(1), method="POST", speech_timeout="auto"
    )
    gather.say(f"{say} In a few words, what are you calling about?".strip())
    return _hand_off(response, say="")


def answer_for(reply: VoiceReply, *, turn: int, attempt: int = 0) -> VoiceResponse:
    """TwiML for the voice path's answer to `turn`: the reply, a handoff, or a short hold."""
    response = VoiceResponse()
    if reply.hand_off:
        return _hand_off(response, say=reply.text)
    if reply.pending:
        if attempt >= MAX_PICKUPS:
            return _hand_off(response, say="Sorry, that is taking longer than it should.")
        response.say(HOLDING_PHRASE)
        response.redirect(pickup_url(turn, attempt + 1), method="POST")
        return response
    return _listen(response, say=reply.text, turn=turn + 1)


@twilio_webhook
def call_inbound(request: HttpRequest) -> HttpResponse:
    """Open (or continue) the call's conversation and greet the caller with what we know."""
    fields = request.POST
    refused = validation.refusal(form=fields, query=request.GET, rules=validation.CALL_INBOUND)
    if refused is not None:
        return refused
    try:
        answer = services.call_answer(
            call_sid=fields["CallSid"], caller=fields["From"], called=fields["To"]
        )
    except InvalidAddress:
        # A withheld number cannot be a customer's identity: a person takes the call.
        return twiml_response(_hand_off(VoiceResponse(), say="Thanks for calling."))
    if answer.conversation.mode in Conversation.HUMAN_MODES:
        # A customer handed off on any channel stays with people until a person releases them.
        # As a contact center's line does, ask what the call is about first: the words reach
        # the person's screen (and the customer's memory) while the call is put through.
        return twiml_response(_ask_then_hand_off(VoiceResponse(), say=answer.greeting))
    return twiml_response(_listen(VoiceResponse(), say=answer.greeting, turn=1))


@twilio_webhook
def call_gather(request: HttpRequest) -> HttpResponse:
    """Store what the caller said and answer within the voice deadline (or hold and redirect)."""
    fields = request.POST
    refused = validation.refusal(form=fields, query=request.GET, rules=validation.CALL_GATHER)
    if refused is not None:
        return refused
    turn = _turn(request)
    if turn is None:
        return bad_request("missing or bad turn")
    speech = fields.get("SpeechResult", "").strip()
    if not speech:
        response = VoiceResponse()
        return twiml_response(_listen(response, say="Sorry, I didn't catch that.", turn=turn))
    try:
        answered = services.call_turn_answer(
            call_sid=fields["CallSid"],
            turn=turn,
            caller=fields["From"],
            called=fields["To"],
            speech=speech,
            confidence=_confidence(fields.get("Confidence")),
            deadline_seconds=settings.VOICE_REPLY_DEADLINE_SECONDS,
        )
    except InvalidAddress:
        return twiml_response(_hand_off(VoiceResponse(), say=""))
    return twiml_response(answer_for(answered.reply, turn=turn))


@twilio_webhook
def call_reply_pickup(request: HttpRequest) -> HttpResponse:
    """Where a held caller is redirected: the late reply if it is ready, else hold again."""
    refused = validation.refusal(form=request.POST, query=request.GET, rules=validation.CALL_PICKUP)
    if refused is not None:
        return refused
    turn = _turn(request)
    if turn is None:
        return bad_request("missing or bad turn")
    attempt = int(request.GET.get("attempt", "").strip() or 1)
    reply = services.call_turn_pickup(
        call_sid=request.POST["CallSid"],
        turn=turn,
        deadline_seconds=settings.VOICE_REPLY_DEADLINE_SECONDS,
    )
    if reply is None:
        return bad_request("no such turn on this call")
    return twiml_response(answer_for(reply, turn=turn, attempt=attempt))


@twilio_webhook
def call_status(request: HttpRequest) -> HttpResponse:
    """A call status callback; an ended call closes its conversation with its duration."""
    fields = request.POST
    refused = validation.refusal(form=fields, query=request.GET, rules=validation.CALL_STATUS)
    if refused is not None:
        return refused
    duration = fields.get("CallDuration", "").strip()
    closed = services.call_close(
        call_sid=fields["CallSid"],
        call_status=fields["CallStatus"].strip().lower(),
        duration_seconds=int(duration) if duration else None,
    )
    if closed is not None and closed.status == Conversation.Status.CLOSED:
        # Closed here, not by the sweeper: its summary is written by the worker, as theirs.
        conversation_id = closed.pk
        transaction.on_commit(
            lambda: conversation_wrap_up.delay(conversation_id, Conversation.Status.CLOSED),
            robust=True,
        )
    return twiml_response(VoiceResponse())


def _turn(request: HttpRequest) -> int | None:
    return validation.bounded_int(request.GET.get("turn", "").strip(), 1, validation.MAX_TURN)


def _confidence(raw: str | None) -> float | None:
    try:
        return max(0.0, min(1.0, float(raw))) if raw else None
    except ValueError:
        return None
