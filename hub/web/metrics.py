"""`/metrics`: Prometheus metrics of the board and of the hub's ingest processes.

A registry per app (not prometheus_client's global one), so several boards in one process — tests,
the benchmark — never collide. The ingest's counters come from `hub_process` (each `venue-hub run`
writes its counters there every few seconds), so one scrape of any board shows every process of the
office, whichever machine it runs on.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, select

from hub.db.models import HubProcess


class IngestCollector(Collector):
    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        counters = CounterMetricFamily(
            "venue_hub_ingest_messages",
            "Ingest counters per hub process (hub_process.counters)",
            labels=["process", "counter"],
        )
        beats = GaugeMetricFamily("venue_hub_ingest_heartbeat_timestamp_seconds", "Last heartbeat", labels=["process"])
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(select(HubProcess.client_id, HubProcess.beat_at, HubProcess.counters)).all()
        except Exception:  # a scrape while the database is down: the board's own metrics still answer
            rows = []
        for row in rows:
            beats.add_metric([row.client_id], row.beat_at.timestamp())
            for name, value in (row.counters or {}).items():
                if isinstance(value, int | float):
                    counters.add_metric([row.client_id, str(name)], float(value))
        yield counters
        yield beats


class BoardMetrics:
    def __init__(self, engine: Engine):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "venue_hub_board_requests", "Board requests", ["route", "status"], registry=self.registry
        )
        self.logins = Counter("venue_hub_board_logins", "Sign-in attempts", ["outcome"], registry=self.registry)
        self.csrf_refused = Counter(
            "venue_hub_board_csrf_refused", "POSTs refused for a missing or wrong CSRF token", registry=self.registry
        )
        self.streams = Gauge("venue_hub_board_streams", "Open event streams", registry=self.registry)
        self.venues = Gauge("venue_hub_board_venues", "Venues by tile colour", ["tile"], registry=self.registry)
        self.tile_lag = Histogram(
            "venue_hub_board_tile_lag_seconds",
            "From a venue's changed_at to its tile being pushed",
            buckets=(0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10),
            registry=self.registry,
        )
        self.registry.register(IngestCollector(engine))

    def render(self) -> bytes:
        return generate_latest(self.registry)
