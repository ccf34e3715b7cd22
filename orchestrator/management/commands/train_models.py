"""`manage.py train_models [--intent] [--sentiment]`: retrain Rapport's own models, with
supervisors' intent corrections, promoting each only if it scores no worse on held-out data.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orchestrator.intelligence.store import MODEL_KINDS
from orchestrator.intelligence.training import model_retrain


class Command(BaseCommand):
    help = "Retrain the intent and/or sentiment model; a worse model is refused."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--intent", action="store_true", help="retrain the intent model")
        parser.add_argument("--sentiment", action="store_true", help="retrain sentiment")
        parser.add_argument("--signals", action="store_true", help="retrain churn/buying signals")

    def handle(self, *args: Any, **options: Any) -> None:
        kinds = [kind for kind in MODEL_KINDS if options[kind]] or list(MODEL_KINDS)
        for kind in kinds:
            outcome = model_retrain(kind=kind, progress=self.stdout.write)
            style = self.style.SUCCESS if outcome.promoted else self.style.WARNING
            self.stdout.write(style(f"{kind}: {outcome.reason}; version {outcome.version}"))
