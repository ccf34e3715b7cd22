"""`manage.py evaluate <what>`: measure one part of Rapport on labelled data.

Each evaluator is a subcommand with its own arguments; add one to EVALUATORS to extend it.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench.recall.evaluator import RecallEvaluator
from orchestrator.intelligence.evaluation import (
    EvaluationInputError,
    Evaluator,
    IntentEvaluator,
    SentimentEvaluator,
)

EVALUATORS: tuple[Evaluator, ...] = (IntentEvaluator(), SentimentEvaluator(), RecallEvaluator())


class Command(BaseCommand):
    help = "Measure a Rapport model on labelled data and print (or save) the figures."

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="evaluator", required=True, metavar="WHAT")
        for evaluator in EVALUATORS:
            evaluator.add_arguments(
                subparsers.add_parser(
                    evaluator.name, help=evaluator.help, description=evaluator.help
                )
            )

    def handle(self, *args: Any, **options: Any) -> None:
        evaluator = next(e for e in EVALUATORS if e.name == options["evaluator"])
        try:
            report = evaluator.run(options, self._progress)
        except EvaluationInputError as error:
            raise CommandError(str(error)) from error
        self.stdout.write("")
        self.stdout.write(report.table())
        if options.get("json"):
            options["json"].write_text(json.dumps(report.figures(), indent=2) + "\n")
            self.stdout.write(self.style.SUCCESS(f"figures written to {options['json']}"))

    def _progress(self, line: str) -> None:
        self.stderr.write(line)
        self.stderr.flush()
