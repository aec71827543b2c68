"""The ingest's store thread alone, in-process: decode + `Store.apply` of the fleet's messages in batches.

Run: .venv/bin/python -m bench.hub_store [--venues 10000] [--messages 40000] [--database sqlite|postgresql]
     [--batch 500]

No broker: the messages bench/hub_fleet.py would publish (status : metrics : event = 10 : 5 : 1, after
every venue's retained availability and first status) are built in memory, wrapped as `Incoming` and
fed to `decode` and `Store.apply` in batches as `venue-hub run`'s store thread does. This isolates the
hub's own per-message cost from the broker's and is what a profiler (py-spy, pyinstrument) is pointed
at; bench/hub_load.py measures the whole path against its mosquitto_sub anchor.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.hub_fleet import fleet_refs, rfc3339_now, templates_for
from hub.config.models import HubSection
from hub.db.engine import open_database, writer_engine
from hub.ingest.decode import Accepted, Incoming, decode
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venues", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    postgres = None
    with tempfile.TemporaryDirectory(prefix="hub-store-") as tmp:
        if args.database == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'hub.sqlite3'}"
        else:
            from tests.peers.postgres import PostgresServer

            postgres = PostgresServer().start()
            url = postgres.new_database("bench")
        try:
            engine = open_database(url)
            store = Store(writer_engine(engine), HubSection(scope=SCOPE, database=url))
            items = messages(args.venues, args.messages)
            burst = 2 * args.venues
            timings: dict[str, float] = {"decode": 0.0, "store": 0.0}
            phases: dict[str, tuple[int, float]] = {}
            for name, part in (("online_burst", items[:burst]), ("mix", items[burst:])):
                started = time.perf_counter()
                for start in range(0, len(part), args.batch):
                    chunk = part[start : start + args.batch]
                    t0 = time.perf_counter()
                    decoded = [decode(m, "vc", SCOPE, 1 << 20) for m in chunk]
                    t1 = time.perf_counter()
                    store.apply([d for d in decoded if isinstance(d, Accepted)])
                    timings["decode"] += t1 - t0
                    timings["store"] += time.perf_counter() - t1
                phases[name] = (len(part), time.perf_counter() - started)
            result = {
                "database": args.database,
                "venues": args.venues,
                "batch": args.batch,
                **{f"{name}_rate": round(n / s) for name, (n, s) in phases.items()},
                "decode_s": round(timings["decode"], 2),
                "store_s": round(timings["store"], 2),
            }
            print(json.dumps(result))
            engine.dispose()
        finally:
            if postgres is not None:
                postgres.close()


if __name__ == "__main__":
    main()
