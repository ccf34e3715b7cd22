"""App config for the orchestrator."""

from __future__ import annotations

from django.apps import AppConfig


class OrchestratorConfig(AppConfig):
    name = "orchestrator"
    verbose_name = "Orchestrator"

    def ready(self) -> None:
        # Celery autodiscovers only `<app>.tasks`; the intelligence package's tasks live apart.
        from memory.signals import personal_data_erasing
        from orchestrator.intelligence import tasks  # noqa: F401
        from orchestrator.people.drafts import reply_drafts_scrub
        from orchestrator.traces import traces_scrub

        personal_data_erasing.connect(traces_scrub, dispatch_uid="orchestrator.traces_scrub")
        personal_data_erasing.connect(reply_drafts_scrub, dispatch_uid="orchestrator.drafts_scrub")
