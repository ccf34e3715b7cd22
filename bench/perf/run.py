"""One benchmark run: its settings (a scale preset, overridden by options), the phases in order,
and the report they fill. `manage.py benchmark` is the thin shell around it."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TextIO

from django.conf import settings
from django.test import override_settings

from bench.perf import gate, load, pipeline, processes, search
from bench.perf.database import bench_database
from bench.perf.machine import machine_describe
from bench.perf.seed import BaseSet, SeedSize, base_set_seed, row_counts
from bench.perf.traffic import BENCH_HOST, BENCH_TWILIO_TOKEN
from config.celery import app as celery_app
from memory.models import Customer

PHASES = ("seed", "gate", "pipeline", "load")


@dataclass(frozen=True)
class Plan:
    """What a run seeds and measures."""

    scales: tuple[int, ...]
    base_customers: int
    messages_scale: float
    gate_samples: int
    pipeline_messages: int
    rates: tuple[float, ...]
    load_seconds: float
    reply_messages: int
    reply_rate: float
    worker_concurrency: int = 2
    word_budget: int = 150
    seed: int = 7


SCALES: dict[str, Plan] = {
    # The test suite's: a few seconds of each phase, to prove they all run and report.
    "smoke": Plan(
        scales=(50,),
        base_customers=5,
        messages_scale=0.5,
        gate_samples=20,
        pipeline_messages=10,
        rates=(10,),
        load_seconds=2,
        reply_messages=4,
        reply_rate=1,
    ),
    "small": Plan(
        scales=(1000,),
        base_customers=100,
        messages_scale=1.0,
        gate_samples=200,
        pipeline_messages=100,
        rates=(25, 50),
        load_seconds=10,
        reply_messages=20,
        reply_rate=2,
    ),
    "medium": Plan(
        scales=(1000, 10000),
        base_customers=100,
        messages_scale=1.0,
        gate_samples=300,
        pipeline_messages=100,
        rates=(25, 50, 100),
        load_seconds=20,
        reply_messages=30,
        reply_rate=2,
    ),
    "large": Plan(
        scales=(1000, 10000, 100000),
        base_customers=100,
        messages_scale=1.0,
        gate_samples=300,
        pipeline_messages=100,
        rates=(25, 50, 100),
        load_seconds=20,
        reply_messages=30,
        reply_rate=2,
    ),
}


def plan_from(options: dict[str, Any]) -> Plan:
    """The preset named by --scale, with every option given on the command line applied."""
    plan = SCALES[options.get("scale") or "small"]
    changes: dict[str, Any] = {}
    if options.get("customers"):
        changes["scales"] = tuple(sorted(set(options["customers"])))
    for option, name in (
        ("samples", "gate_samples"),
        ("messages", "pipeline_messages"),
        ("load_seconds", "load_seconds"),
        ("reply_messages", "reply_messages"),
        ("reply_rate", "reply_rate"),
        ("concurrency", "worker_concurrency"),
        ("budget", "word_budget"),
        ("seed", "seed"),
    ):
        if options.get(option) is not None:
            changes[name] = options[option]
    if options.get("rates"):
        changes["rates"] = tuple(options["rates"])
    plan = replace(plan, **changes)
    return replace(plan, base_customers=max(1, min(plan.base_customers, min(plan.scales))))


def bench_settings() -> dict[str, Any]:
    """What the in-process webhooks sign and are checked with; replies go to the console."""
    return {
        "TWILIO_AUTH_TOKEN": BENCH_TWILIO_TOKEN,
        "TWILIO_VALIDATE_SIGNATURES": True,
        "RAPPORT_PUBLIC_URL": f"https://{BENCH_HOST}",
        "ALLOWED_HOSTS": ["*"],
        "OUTBOUND_SMS_BACKEND": "console",
        "OUTBOUND_EMAIL_BACKEND": "console",
    }


class BenchmarkRun:
    """Seed, then measure the phases asked for, filling `report` as it goes."""

    def __init__(
        self,
        *,
        plan: Plan,
        phases: tuple[str, ...],
        stream: TextIO,
        database_url: str | None = None,
        keep_database: bool = False,
    ) -> None:
        self.plan = plan
        self.phases = phases
        self.stream = stream
        self.database_url = database_url
        self.keep_database = keep_database
        self.redis_url = str(settings.REDIS_URL or "")
        self.report: dict[str, Any] = {
            "plan": {
                "scales": list(plan.scales),
                "base_customers": plan.base_customers,
                "gate_samples": plan.gate_samples,
                "pipeline_messages": plan.pipeline_messages,
                "rates": list(plan.rates),
                "load_seconds": plan.load_seconds,
                "word_budget": plan.word_budget,
                "seed": plan.seed,
            },
            "phases": list(phases),
            "phase_seconds": {},
            "scales": [],
            "pipeline": [],
            "skipped": [],
            "errors": [],
        }
        self._base: BaseSet | None = None
        self._database_url = ""
        self._worker: processes.Managed | None = None

    def progress(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        logging.disable(logging.WARNING)
        try:
            with (
                override_settings(**bench_settings()),
                bench_database(
                    url=self.database_url, keep=self.keep_database, progress=self.progress
                ) as database,
            ):
                self.report["database"] = {"name": database.name, "scratch": database.scratch}
                self._database_url = database.url
                self.report["machine"] = machine_describe(redis_url=self.redis_url)
                self.report["machine"]["load_average_before"] = _load_average()
                for customers in self.plan.scales:
                    self._timed(f"scale {customers}", functools.partial(self._scale, customers))
                if "pipeline" in self.phases:
                    self._timed("pipeline", self._pipeline)
                if "load" in self.phases:
                    self._timed("load", self._load)
                self.report["machine"]["load_average_after"] = _load_average()
        finally:
            self._worker_stop()
            logging.disable(logging.NOTSET)
        self.report["seconds"] = round(time.perf_counter() - started, 1)
        return self.report

    def _timed(self, name: str, phase: Callable[[], None]) -> None:
        """Run a phase; one that fails is reported (and fails the command once the report is
        written), and the phases after it still run."""
        started = time.perf_counter()
        try:
            phase()
        except Exception as error:  # noqa: BLE001 - reported, and the command then fails
            self.report["errors"].append(f"{name}: {type(error).__name__}: {error}")
            self.progress(f"{name} failed: {error}")
        self.report["phase_seconds"][name] = round(time.perf_counter() - started, 1)

    # Phases ---------------------------------------------------------------------------------

    def _scale(self, customers: int) -> None:
        size = self._seed_to(customers)
        entry: dict[str, Any] = {
            "customers": size.customers,
            "rows": row_counts(),
            "seed_seconds": round(size.base_seconds + size.copy_seconds, 2),
            "base_seconds": round(size.base_seconds, 2),
            "copy_seconds": round(size.copy_seconds, 2),
        }
        if "gate" in self.phases:
            self.progress(f"gate: {self.plan.gate_samples} reads at {size.customers} customers")
            entry["gate"] = gate.gate_measure(
                samples=self.plan.gate_samples,
                budget=self.plan.word_budget,
                seed=self.plan.seed + customers,
            )
            searches = max(10, self.plan.gate_samples // 4)
            self.progress(f"search: {searches} searches at {size.customers} customers")
            entry["search"] = search.search_measure(
                samples=searches, seed=self.plan.seed + customers
            )
        self.report["scales"].append(entry)

    def _seed_to(self, customers: int) -> SeedSize:
        size = SeedSize(customers=customers, base_customers=self.plan.base_customers)
        if self._base is None:
            existing = Customer.objects.count()
            if existing:
                raise RuntimeError(
                    f"the database already holds {existing} customers; the benchmark seeds an "
                    "empty one (leave out --database-url to have one made)"
                )
            self.progress(f"seeding {customers} customers: {self.plan.base_customers} base")
            started = time.perf_counter()
            base_set_seed(
                customers=self.plan.base_customers,
                seed=self.plan.seed,
                stream=self.stream,
                messages_scale=self.plan.messages_scale,
            )
            size.base_seconds = time.perf_counter() - started
            self._base = BaseSet()
        base = self._base
        have = base.customers * (base.copies_made + 1)
        copies = max(0, -(-(customers - have) // base.customers))
        if copies:
            self.progress(f"copying the base set {copies} more times to {customers} customers")
            started = time.perf_counter()
            base.copy(copies=copies, stream=self.stream)
            size.copy_seconds = time.perf_counter() - started
        size.copies = base.copies_made
        size.customers = base.customers * (base.copies_made + 1)
        return size

    def _pipeline(self) -> None:
        plan = self.plan
        self.progress(f"pipeline inline: {plan.pipeline_messages} messages")
        self.report["pipeline"].append(
            pipeline.throughput_inline(
                messages=plan.pipeline_messages,
                seed=plan.seed,
            )
        )
        if not self.redis_url:
            self.report["skipped"].append("pipeline on a Celery worker: REDIS_URL is not set")
            return
        self.progress(f"pipeline on a Celery worker (concurrency {plan.worker_concurrency})")
        self._worker_ensure()
        self.report["pipeline"].append(
            pipeline.throughput_worker(
                messages=plan.pipeline_messages,
                seed=plan.seed + 11,
                timeout=max(60.0, plan.pipeline_messages * 2.0),
                concurrency=plan.worker_concurrency,
            )
        )

    def _worker_ensure(self) -> None:
        """One worker for the run, started when a phase first needs it."""
        if self._worker is None:
            self._worker = processes.worker_start(
                env=self._env(), concurrency=self.plan.worker_concurrency
            )

    def _worker_stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def _load(self) -> None:
        plan = self.plan
        port = processes.free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = self._env(
            RAPPORT_PUBLIC_URL=base_url,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_DEBUG="0",
            SECURE_SSL_REDIRECT="0",
        )
        concurrency = processes.connection_budget()
        web = processes.web_processes()
        mode = (
            f"uvicorn, {web} processes of {concurrency // web} threads and database connections"
            " each (503 + Retry-After past RAPPORT_HTTP_MAX_IN_PROGRESS); "
            + (
                "the webhook stores and enqueues on Redis"
                if self.redis_url
                else "no REDIS_URL, so the pipeline runs inside the request"
            )
        )
        self.progress(f"starting uvicorn on {base_url} ({web} processes)")
        server = processes.server_start(env=env, port=port, concurrency=concurrency, processes=web)
        try:
            if self.redis_url:
                self._worker_ensure()
            rate = self._reply_rate()
            try:
                self.progress(f"reply latency: {plan.reply_messages} SMS at {rate}/s")
                self.report["reply_latency"] = load.reply_latency(
                    base_url=base_url,
                    messages=plan.reply_messages,
                    rate=rate,
                    seed=plan.seed + 21,
                    timeout=max(60.0, plan.reply_messages * 3.0),
                )
            finally:
                # Acks are measured on the web tier alone; the queue it fills is dropped after.
                self._worker_stop()
            steps = []
            for index, rate in enumerate(plan.rates):
                self.progress(f"webhook load: {rate}/s for {plan.load_seconds}s (open loop)")
                steps.append(
                    load.ack_under_load(
                        base_url=base_url,
                        rate=rate,
                        seconds=plan.load_seconds,
                        seed=plan.seed + 31 + index,
                    )
                )
            self.report["webhook_load"] = {
                "mode": mode,
                "server_concurrency_limit": concurrency,
                "rates": steps,
            }
        finally:
            server.stop()
            if self.redis_url:
                # The load's messages were queued for a worker that is gone: drop them.
                celery_app.control.purge()

    def _reply_rate(self) -> float:
        """The asked rate, held to half the throughput the worker showed: below capacity, so
        the figure is the pipeline's own time and not a queue's."""
        worker = [p for p in self.report["pipeline"] if p["mode"].startswith("celery")]
        if not worker or not worker[0]["messages_per_second"]:
            return self.plan.reply_rate
        half: float = round(float(worker[0]["messages_per_second"]) / 2, 2)
        return min(self.plan.reply_rate, max(0.2, half))

    def _env(self, **extra: str) -> dict[str, str]:
        return processes.child_env(
            database_url=self._database_url,
            redis_url=self.redis_url,
            extra={"TWILIO_AUTH_TOKEN": BENCH_TWILIO_TOKEN, **extra},
        )


def _load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages: other work on the machine shows in every figure."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def phases_for(name: str) -> tuple[str, ...]:
    return PHASES if name == "all" else ("seed", name)
