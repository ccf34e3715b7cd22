"""App config for the context graph; registers graph models with django-auditlog."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_save


class MemoryConfig(AppConfig):
    name = "memory"
    verbose_name = "Customer memory"

    def ready(self) -> None:
        from celery.signals import task_postrun, task_prerun
        from django.db.backends.signals import connection_created

        from memory import audit, telemetry
        from memory.models import AuditEntry

        audit.register_graph_models()
        task_prerun.connect(audit.task_attribution_begin, dispatch_uid="memory.audit.task_begin")
        task_postrun.connect(audit.task_attribution_end, dispatch_uid="memory.audit.task_end")
        pre_save.connect(
            audit.attribution_fill, sender=AuditEntry, dispatch_uid="memory.audit.attribution"
        )
        connection_created.connect(audit.sqlite_functions_register)
        telemetry.tracing_configure()
        post_migrate.connect(_ensure_roles, sender=self)


def _ensure_roles(**kwargs: Any) -> None:
    from memory.roles import roles_ensure

    roles_ensure()
