"""App config for the context graph; registers graph models with django-auditlog."""

from __future__ import annotations

from django.apps import AppConfig


class MemoryConfig(AppConfig):
    name = "memory"
    verbose_name = "Customer memory"

    def ready(self) -> None:
        from memory import audit

        audit.register_graph_models()
