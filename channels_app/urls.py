"""Webhook routes for Twilio and SendGrid."""

from __future__ import annotations

from django.urls import path

from channels_app.webhooks import sendgrid_email, twilio_sms, twilio_voice

app_name = "channels_app"
urlpatterns = [
    path("twilio/sms/", twilio_sms.sms_inbound, name="sms-inbound"),
    path("twilio/sms/status/", twilio_sms.sms_status, name="sms-status"),
    path("twilio/voice/", twilio_voice.call_inbound, name="call-inbound"),
    path("twilio/voice/gather/", twilio_voice.call_gather, name="call-gather"),
    path("twilio/voice/reply/", twilio_voice.call_reply_pickup, name="call-reply-pickup"),
    path("twilio/voice/status/", twilio_voice.call_status, name="call-status"),
    path("email/inbound/", sendgrid_email.email_inbound, name="email-inbound"),
]
