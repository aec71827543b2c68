"""The ingest's store thread alone, in-process: decode + `Store.apply` of the fleet's messages in batches.

Run: .venv/bin/python -m bench.hub_store [--venues 10000] [--messages 40000] [--database sqlite|postgresql]
     [--batch 500] [--workers 0|1|2]

No broker: the messages bench/hub_fleet.py would publish (status : metrics : event = 10 : 5 : 1, after
every venue's retained availability and first status) are built in memory, wrapped as `Incoming` and
fed to `decode` and `Store.apply` in batches as `venue-hub run`'s store thread does. This isolates the
hub's own per-message cost from the broker's and is what a profiler (py-spy, pyinstrument) is pointed
at; bench/hub_load.py measures the whole path against its mosquitto_sub anchor.

`--workers N` decodes in N worker processes (`decode_batch`, as `[hub] decode_workers`), the next batch
while this one is stored; `decode_s` is then the time spent waiting for the workers, not their CPU.
The ratio printed is the rate against the same run's in-process decode (`--workers 0`) when both run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import time
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bench.hub_fleet import fleet_refs, rfc3339_now, templates_for
from hub.config.models import HubSection
from hub.db.engine import open_database, writer_engine
from hub.ingest.decode import Accepted, Decoded, Incoming, attach, decode, decode_batch, tune_gc
from hub.ingest.store import Store

SCOPE = "vc/jilin/#"


def messages(venues: int, count: int) -> list[Incoming]:
    """The online burst (availability + status per venue), then `count` messages in the fleet's mix."""
    fleet = [templates_for(ref) for ref in fleet_refs(venues)]
    now = rfc3339_now()
    at = datetime.now(UTC)
    out: list[Incoming] = []
    for venue in fleet:
        out.append(Incoming(venue.topics.availability, b"online", True, at, qos=0))
        out.append(Incoming(venue.topics.status, venue.status_bytes(now), True, at, qos=0))
    pattern = ["status"] * 10 + ["metrics"] * 5 + ["event"]
    for n in range(count):
        venue = fleet[n % venues]
        kind = pattern[n % len(pattern)]
        if kind == "status":
            out.append(Incoming(venue.topics.status, venue.status_bytes(rfc3339_now()), True, at, qos=0))
        elif kind == "metrics":
            out.append(Incoming(venue.topics.metrics, venue.metrics_bytes(rfc3339_now()), False, at, qos=0))
        else:
            out.append(
                Incoming(venue.topics.events, venue.event_bytes(rfc3339_now(), time.time())[1], False, at, qos=0)
            )
    return out


def run(url: str, items: list[Incoming], venues: int, batch: int, workers: int) -> dict[str, float]:
    """Decode and apply `items` into a fresh database at `url`; the rates of the two phases."""
    engine = open_database(url)
    store = Store(writer_engine(engine), HubSection(scope=SCOPE, database=url))
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) if workers > 0 else None
    if pool is not None:  # the workers' imports are not what is measured
        pool.submit(decode_batch, [], "vc", SCOPE, 1 << 20).result()
    tune_gc()  # as `venue-hub run` does once started
    burst = 2 * venues
    timings: dict[str, float] = {"decode": 0.0, "store": 0.0}
    phases: dict[str, tuple[int, float]] = {}

    def submit(chunk: list[Incoming]) -> list[Future[list[Decoded]]]:
        size = max(50, -(-len(chunk) // workers))
        return [
            pool.submit(decode_batch, [(m.topic, m.payload) for m in chunk[n : n + size]], "vc", SCOPE, 1 << 20)  # type: ignore[union-attr]
            for n in range(0, len(chunk), size)
        ]

    for name, part in (("online_burst", items[:burst]), ("mix", items[burst:])):
        chunks = [part[start : start + batch] for start in range(0, len(part), batch)]
        started = time.perf_counter()
        pending = submit(chunks[0]) if pool is not None and chunks else None
        for number, chunk in enumerate(chunks):
            t0 = time.perf_counter()
            if pool is None:
                decoded = [decode(m, "vc", SCOPE, 1 << 20) for m in chunk]
            else:
                results = [item for future in pending for item in future.result()]  # type: ignore[union-attr]
                decoded = [attach(item, m) for item, m in zip(results, chunk, strict=True)]
                pending = submit(chunks[number + 1]) if number + 1 < len(chunks) else None
            t1 = time.perf_counter()
            store.apply([d for d in decoded if isinstance(d, Accepted)])
            timings["decode"] += t1 - t0
            timings["store"] += time.perf_counter() - t1
        phases[name] = (len(part), time.perf_counter() - started)
    if pool is not None:
        pool.shutdown()
    engine.dispose()
    return {
        **{f"{name}_rate": round(n / s) for name, (n, s) in phases.items()},
        "decode_s": round(timings["decode"], 2),
        "store_s": round(timings["store"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venues", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[0, 1], help="Decode workers; each count is one run (0: in-process)."
    )
    args = parser.parse_args()
    postgres = None
    items = messages(args.venues, args.messages)
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="hub-store-") as tmp:
        try:
            for workers in args.workers:
                if args.database == "sqlite":
                    url = f"sqlite:///{Path(tmp) / f'hub-{workers}.sqlite3'}"
                else:
                    from tests.peers.postgres import PostgresServer

                    postgres = postgres or PostgresServer().start()
                    url = postgres.new_database(f"bench{workers}")
                result = {
                    "database": args.database,
                    "venues": args.venues,
                    "batch": args.batch,
                    "workers": workers,
                    **run(url, items, args.venues, args.batch, workers),
                    "load_average": [round(x, 2) for x in os.getloadavg()],
                }
                results.append(result)
                print(json.dumps(result), flush=True)
        finally:
            if postgres is not None:
                postgres.close()
    anchor = next((r for r in results if r["workers"] == 0), None)
    for result in results:
        if anchor is not None and result is not anchor:
            print(
                f"workers {result['workers']}: mix {result['mix_rate']} msg/s = "
                f"{result['mix_rate'] / anchor['mix_rate']:.2f}× in-process decode ({anchor['mix_rate']} msg/s); "  # type: ignore[operator]
                f"online burst {result['online_burst_rate'] / anchor['online_burst_rate']:.2f}×"  # type: ignore[operator]
            )


if __name__ == "__main__":
    main()
