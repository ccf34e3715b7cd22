"""`manage.py evaluate recall`: Rapport and the two retrieval baselines on one journey file,
replayed into a scratch database unless told otherwise."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.test import override_settings
from django.test.utils import setup_databases, teardown_databases

from bench.recall.baselines import RetrievalBaseline
from bench.recall.rapport import RapportSystem, benchmark_settings
from bench.recall.runner import (
    Journey,
    MemorySystem,
    SystemScore,
    format_table,
    load_journeys,
    run_benchmark,
)
from config.celery import app as celery_app
from orchestrator.intelligence.api import classify_sentiment
from orchestrator.intelligence.evaluation import EvaluationInputError


@dataclass(frozen=True)
class RecallReport:
    """Every system's figures on one journey file, as `evaluate` prints and saves them."""

    scores: dict[str, SystemScore]
    journeys: int
    events: int
    budget: int

    def figures(self) -> dict[str, Any]:
        return {"systems": {name: score.figures() for name, score in self.scores.items()}}

    def table(self) -> str:
        lines = [
            f"recall benchmark: {self.journeys} journeys, {self.events} events,"
            f" budget {self.budget} words",
            "",
            *format_table(self.scores),
        ]
        misses = self.scores["rapport"].misses if "rapport" in self.scores else []
        if misses:
            lines += ["", f"rapport missed {len(misses)} needs, first ones:"]
            lines += [f"  {m['journey']} after {m['after']}: {m['need']!r}" for m in misses[:12]]
        return "\n".join(lines)


class RecallEvaluator:
    """`evaluate recall`: Rapport and two retrieval baselines on the same journey file."""

    name = "recall"
    help = "Score Rapport's memory against retrieval baselines on a customer-journey file."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--journeys", type=Path, required=True, help="journey file (JSONL)")
        parser.add_argument("--budget", type=int, default=150, help="context word budget")
        parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
        parser.add_argument(
            "--details",
            type=Path,
            help="write Rapport's every miss and every stale value shown, with the context, here",
        )
        parser.add_argument(
            "--current-database",
            action="store_true",
            help="replay into the configured database instead of a scratch one (tests use it)",
        )

    def run(self, options: dict[str, Any], progress: Callable[[str], None]) -> RecallReport:
        path = Path(options["journeys"])
        if not path.exists():
            raise EvaluationInputError(f"no journey file at {path}")
        journeys = load_journeys(path)
        progress(f"replaying {len(journeys)} journeys from {path}")
        if options.get("current_database"):
            report = self._replay(journeys, options["budget"], progress)
        else:
            progress("creating a scratch database")
            old_config = setup_databases(verbosity=0, interactive=False, aliases={"default": {}})
            try:
                report = self._replay(journeys, options["budget"], progress)
            finally:
                teardown_databases(old_config, verbosity=0)
        if options.get("details") and "rapport" in report.scores:
            score = report.scores["rapport"]
            Path(options["details"]).write_text(
                json.dumps(
                    {"misses": score.misses, "stale": score.stale_seen, "leaks": score.leaks_seen},
                    indent=1,
                )
                + "\n"
            )
        return report

    def _replay(
        self, journeys: list[Journey], budget: int, progress: Callable[[str], None]
    ) -> RecallReport:
        eager_before = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True
        # Per-message INFO lines from tasks and outbound sending would bury the progress.
        logging.disable(logging.INFO)
        try:
            with override_settings(**benchmark_settings()):
                rapport = RapportSystem()
                systems: list[MemorySystem] = [
                    rapport,
                    RetrievalBaseline("rag-global", same_address_only=False, sentiment=_mood),
                    RetrievalBaseline("rag-address", same_address_only=True, sentiment=_mood),
                ]
                scores = run_benchmark(
                    journeys=journeys, systems=systems, budget=budget, progress=progress
                )
                if rapport.unstored:
                    progress(
                        f"{len(rapport.unstored)} event(s) stored no turn (calls put through"
                        f" to a person): {', '.join(rapport.unstored[:10])}"
                    )
        finally:
            celery_app.conf.task_always_eager = eager_before
            logging.disable(logging.NOTSET)
        return RecallReport(
            scores=scores,
            journeys=len(journeys),
            events=sum(len(j.events) for j in journeys),
            budget=budget,
        )


def _mood(text: str) -> str:
    """The baselines' mood label: Rapport's own sentiment model on the newest message."""
    return classify_sentiment(text).label
