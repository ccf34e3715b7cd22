"""App config for the orchestrator."""

from __future__ import annotations

from django.apps import AppConfig


class OrchestratorConfig(AppConfig):
    name = "orchestrator"
    verbose_name = "Orchestrator"

    def ready(self) -> None:
        # Celery autodiscovers only `<app>.tasks`; the intelligence package's tasks live apart.
        from orchestrator.intelligence import tasks  # noqa: F401
