"""`manage.py benchmark all --scale smoke` runs every phase end to end (a scratch database it
creates and drops, a real Celery worker and a real uvicorn server when REDIS_URL is set) and
reports every section with numbers that make sense. Not a timed test: no latency thresholds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
# Generous: the smoke run takes well under a minute on a quiet machine, more on a shared one.
RUN_TIMEOUT_SECONDS = 300

needs_postgres = pytest.mark.skipif(
    not str(settings.DATABASES["default"]["ENGINE"]).endswith("postgresql"),
    reason="the benchmark seeds its own PostgreSQL database",
)


def _bench_databases() -> set[str]:
    default = settings.DATABASES["default"]
    with psycopg.connect(
        dbname="postgres",
        user=default.get("USER") or None,
        password=default.get("PASSWORD") or None,
        host=default.get("HOST") or "127.0.0.1",
        port=default.get("PORT") or 5432,
    ) as server:
        rows = server.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'rapport_bench_%%'"
        ).fetchall()
    return {row[0] for row in rows}


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("benchmark") / "smoke.json"
    finished = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "benchmark", "all", "--scale", "smoke", "--json", str(out)],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    report = json.loads(out.read_text())
    report["_stdout"] = finished.stdout
    report["_chart"] = out.with_suffix(".png")
    report["_databases_after"] = _bench_databases()
    return report


@needs_postgres
def test_smoke_run_seeds_the_asked_scale_in_its_own_database_and_drops_it(smoke_report):
    (scale,) = smoke_report["scales"]
    assert scale["customers"] >= 50
    rows = scale["rows"]
    # Every part of the graph was written, by the services and then by the SQL copies.
    for kind in ("customer", "identity", "conversation", "message", "case", "fact"):
        assert rows[kind] > 0, kind
    assert rows["identity"] == 2 * rows["customer"]
    assert rows["message"] > 5 * rows["customer"]
    assert rows["sentimentreading"] > 0 and rows["auditentry"] > rows["message"]
    assert smoke_report["database"]["scratch"] is True
    assert smoke_report["database"]["name"].startswith("rapport_bench_")
    assert smoke_report["database"]["name"] != settings.DATABASES["default"]["NAME"]
    assert smoke_report["database"]["name"] not in smoke_report["_databases_after"]


@needs_postgres
def test_smoke_run_times_the_gate_against_the_indexed_baseline(smoke_report):
    gate = smoke_report["scales"][0]["gate"]
    assert gate["reads"] == smoke_report["plan"]["gate_samples"]
    assert gate["word_budget"] == 150
    assert set(gate["partitions"]) == {
        "profile",
        "identities",
        "messages",
        "business",
        "emotion",
        "pii",
    }
    for side in ("gate", "baseline"):
        figures = gate[side]
        assert figures["count"] == gate["reads"]
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"]
    assert gate["ratio_p50"] > 0
    # The gate reads in one statement plus its audit write (issue 15); the baseline in one.
    assert gate["queries_per_read"]["median"] == gate["queries_per_read"]["max"] == 2
    assert 0 < gate["words_rendered_median"] <= 150


@needs_postgres
def test_smoke_run_pushes_messages_through_the_pipeline(smoke_report):
    runs = {run["mode"].split(",")[0]: run for run in smoke_report["pipeline"]}
    expected = {"inline", "celery worker"} if settings.REDIS_URL else {"inline"}
    assert set(runs) == expected
    for run in runs.values():
        assert run["final"] == run["messages"] == smoke_report["plan"]["pipeline_messages"]
        assert run["messages_per_second"] > 0
        assert sum(run["statuses"].values()) == run["messages"]
        assert run["replies_queued"] > 0


@needs_postgres
def test_smoke_run_loads_the_webhook_over_http_and_times_replies(smoke_report):
    (step,) = smoke_report["webhook_load"]["rates"]
    assert step["rate_per_second"] == 10
    assert step["sent"] == 20
    assert step["accepted"] + step["non_2xx"] + step["errors"] + step["timeouts"] == step["sent"]
    assert step["accepted"] > 0
    assert 0 < step["ack"]["p50_ms"] <= step["ack"]["p95_ms"] <= step["ack"]["p99_ms"]
    reply = smoke_report["reply_latency"]
    assert reply["accepted"] == reply["messages"]
    assert reply["replied"] + reply["without_reply"] + reply["unfinished"] == reply["accepted"]
    assert reply["replied"] > 0
    assert 0 < reply["reply_queued"]["p50_ms"] <= reply["reply_queued"]["p95_ms"]


@needs_postgres
def test_smoke_run_names_the_machine_and_writes_the_chart(smoke_report):
    machine = smoke_report["machine"]
    assert machine["cpu_cores"] and machine["python"] and machine["postgresql"]
    assert machine["memory_gb"] is None or machine["memory_gb"] > 0
    assert "gate read+render" in smoke_report["_stdout"]
    chart = smoke_report["_chart"]
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_postgres
def test_smoke_run_times_search_on_the_seeded_graph(smoke_report):
    found = smoke_report["scales"][0]["search"]
    assert found["vendor"] == "postgresql"
    assert found["searches"] == found["search"]["count"] >= 10
    assert 0 < found["search"]["p50_ms"] <= found["search"]["p95_ms"] <= found["search"]["max_ms"]
    assert "search (" in smoke_report["_stdout"]
