"""App config for the channels app."""

from __future__ import annotations

from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    label = "channels_app"
    verbose_name = "Channels"

    def ready(self) -> None:
        from memory.signals import outbound_message_queued

        outbound_message_queued.connect(_deliver, dispatch_uid="channels_app.deliver")


def _deliver(*, message_id: int, **_: object) -> None:
    """Hand a message memory stored for sending to the delivery task."""
    from channels_app.tasks import outbound_deliver

    outbound_deliver.delay(message_id)
