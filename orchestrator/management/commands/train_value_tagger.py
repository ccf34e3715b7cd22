"""`manage.py train_value_tagger`: retrain the value tagger from the Schema-Guided Dialogue
corpus under ../shared and write the weights that ship with the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from orchestrator.intelligence.training import value_tagger_retrain

SGD = Path(settings.BASE_DIR).parent / "shared" / "data" / "sgd"


class Command(BaseCommand):
    help = "Retrain the value tagger from SGD's train turns; scores it on SGD's dev turns."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--train", type=Path, default=SGD / "train-turns.jsonl.gz")
        parser.add_argument("--dev", type=Path, default=SGD / "dev-turns.jsonl.gz")
        parser.add_argument("--out", type=Path, help="write here instead of the shipped file")

    def handle(self, *args: Any, **options: Any) -> None:
        dev = options["dev"] if options["dev"].exists() else None
        scores = value_tagger_retrain(
            train=options["train"], dev=dev, out=options["out"], progress=self.stdout.write
        )
        self.stdout.write(self.style.SUCCESS(f"value tagger retrained; dev spans {scores}"))
