"""Time a gate read with its audit write, alone and with concurrent readers.

    DATABASE_URL=postgres://... .venv/bin/python bench/audit_contention.py --reads 300 --threads 8

Each read is `context_read` inside its own transaction (as an agent's run holds one), so the
audit write's locks are held until commit. Prints the median and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=300, help="reads per thread")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, transaction

    from memory.actors import Partition, SystemActor
    from memory.models import Customer
    from memory.selectors import context_read
    from memory.services import customer_resolve

    customer = Customer.objects.first() or customer_resolve(channel="sms", address="+14155550199")
    actor = SystemActor(name="bench", scopes=frozenset({Partition.PROFILE}))

    def one_read() -> float:
        started = time.perf_counter()
        with transaction.atomic():
            context_read(actor=actor, customer=customer, partitions=["profile"], purpose="bench")
        return (time.perf_counter() - started) * 1000

    def reader(times: list[float], barrier: threading.Barrier) -> None:
        one_read()  # connect and warm up outside the timing
        barrier.wait()
        times.extend(one_read() for _ in range(args.reads))
        connection.close()

    for threads in (1, args.threads):
        times: list[float] = []
        barrier = threading.Barrier(threads)
        workers = [threading.Thread(target=reader, args=(times, barrier)) for _ in range(threads)]
        wall = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        wall = time.perf_counter() - wall
        ordered = sorted(times)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(
            f"{threads} reader(s): {len(times)} reads, median {statistics.median(times):.2f} ms, "
            f"p95 {p95:.2f} ms, {len(times) / wall:.0f} reads/s"
        )


if __name__ == "__main__":
    main()
