"""Webhook routes for Twilio and SendGrid."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "channels_app"
urlpatterns: list[URLPattern] = []
