"""The benchmark's report: a table for the terminal, the JSON file and the PNG chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def report_table(report: dict[str, Any]) -> str:
    lines = []
    machine = report.get("machine") or {}
    if machine:
        lines += [
            f"machine: {machine.get('cpu_model')}, {machine.get('cpu_cores')} cores, "
            f"{machine.get('memory_gb')} GB; Python {machine.get('python')}, "
            f"PostgreSQL {machine.get('postgresql')}, Redis {machine.get('redis') or '-'}; "
            f"load average before {machine.get('load_average_before')}, "
            f"after {machine.get('load_average_after')}",
            "",
        ]
    for scale in report.get("scales", []):
        rows = scale["rows"]
        lines.append(
            f"scale {scale['customers']} customers: {rows.get('message', 0)} messages, "
            f"{rows.get('fact', 0)} facts, {rows.get('auditentry', 0)} audit entries "
            f"(seeded in {scale['seed_seconds']:.1f}s)"
        )
        gate = scale.get("gate")
        if gate:
            lines.append(
                f"  gate read+render ({gate['word_budget']} words, all partitions): "
                f"p50 {gate['gate']['p50_ms']:.2f} ms, p95 {gate['gate']['p95_ms']:.2f} ms, "
                f"{gate['queries_per_read']['median']} queries/read"
            )
            lines.append(
                f"  indexed baseline: p50 {gate['baseline']['p50_ms']:.2f} ms, "
                f"p95 {gate['baseline']['p95_ms']:.2f} ms; gate/baseline p50 x{gate['ratio_p50']}, "
                f"p95 x{gate['ratio_p95']}"
            )
        found = scale.get("search")
        if found:
            lines.append(
                f"  search ({found['searches']} terms, {found['vendor']}): "
                f"p50 {found['search']['p50_ms']:.2f} ms, p95 {found['search']['p95_ms']:.2f} ms"
            )
    for run in report.get("pipeline", []):
        lines.append(
            f"pipeline ({run['mode']}): {run['messages_per_second']} messages/s "
            f"({run['final']}/{run['messages']} final in {run['seconds']}s; {run['statuses']})"
        )
    reply = report.get("reply_latency")
    if reply:
        figures = reply["reply_queued"]
        lines.append(
            f"inbound SMS to reply queued at {reply['rate_per_second']}/s: "
            f"p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms "
            f"({reply['replied']} replied, {reply['without_reply']} without reply, "
            f"{reply['unfinished']} unfinished)"
        )
    load = report.get("webhook_load")
    if load:
        lines.append(f"webhook ack under open-loop load ({load['mode']}):")
        for step in load["rates"]:
            ack = step["ack"]
            lines.append(
                f"  {step['rate_per_second']:>5}/s for {step['seconds']}s: "
                f"p50 {ack['p50_ms']:.1f} ms, p95 {ack['p95_ms']:.1f} ms, "
                f"p99 {ack['p99_ms']:.1f} ms; {step['accepted']}/{step['sent']} accepted, "
                f"{step['errors']} errors, {step['timeouts']} timeouts"
            )
    for note in report.get("skipped", []):
        lines.append(f"skipped: {note}")
    for error in report.get("errors", []):
        lines.append(f"FAILED: {error}")
    return "\n".join(lines)


def chart_write(report: dict[str, Any], path: Path) -> None:
    """Two panels: gate and baseline latency by scale; webhook ack latency by offered rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (by_scale, by_rate) = plt.subplots(1, 2, figsize=(11, 4.2))
    scales = [s for s in report.get("scales", []) if s.get("gate")]
    customers = [s["customers"] for s in scales]
    for source, style in (("gate", "-o"), ("baseline", "--s")):
        for percentile in ("p50_ms", "p95_ms"):
            by_scale.plot(
                customers,
                [s["gate"][source][percentile] for s in scales],
                style,
                label=f"{'gate' if source == 'gate' else 'indexed baseline'} {percentile[:3]}",
            )
    if len(customers) > 1:
        by_scale.set_xscale("log")
    by_scale.set_xlabel("customers seeded")
    by_scale.set_ylabel("ms per read + 150-word render")
    by_scale.set_title("Context read latency by scale")
    by_scale.set_ylim(bottom=0)
    by_scale.legend(fontsize=8)
    by_scale.grid(alpha=0.3)
    steps = (report.get("webhook_load") or {}).get("rates", [])
    rates = [step["rate_per_second"] for step in steps]
    for percentile in ("p50_ms", "p95_ms", "p99_ms"):
        by_rate.plot(rates, [step["ack"][percentile] for step in steps], "-o", label=percentile[:3])
    by_rate.set_xlabel("offered SMS webhooks per second (open loop)")
    by_rate.set_ylabel("ack latency, ms")
    by_rate.set_title("Webhook ack latency by rate")
    by_rate.set_ylim(bottom=0)
    if steps:
        by_rate.legend(fontsize=8)
    else:  # a run of other phases: say so rather than draw empty axes
        by_rate.text(0.5, 0.5, "load phase not run", ha="center", va="center")
        by_rate.set_xticks([])
        by_rate.set_yticks([])
    by_rate.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
