"""Websocket routes; the consumers live in channels_app."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from channels_app.consumers import ConsoleConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/console/", ConsoleConsumer.as_asgi()),
]
