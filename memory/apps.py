"""App config for the context graph; registers graph models with django-auditlog."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MemoryConfig(AppConfig):
    name = "memory"
    verbose_name = "Customer memory"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from memory import audit, telemetry

        audit.register_graph_models()
        connection_created.connect(audit.sqlite_functions_register)
        telemetry.tracing_configure()
        post_migrate.connect(_ensure_roles, sender=self)


def _ensure_roles(**kwargs: Any) -> None:
    from memory.roles import roles_ensure

    roles_ensure()
