"""A small run of the hub load generator (bench/hub_fleet.py) against a real mosquitto: every message it
publishes arrives, on the venue's own topic, valid against the contract's models, with gap-free seqs
and the send time the benchmark measures latency from. (The benchmark itself is bench/hub_load.py.)"""

from __future__ import annotations

import json
from collections import defaultdict

from bench.hub_fleet import Fleet, every_kind
from contract.payloads import Event, Metrics, Status
from sim.broker import Mosquitto
from tests.peers.hub import Hub

MODELS = {"status": Status, "metrics": Metrics, "events": Event}


def test_fleet_publishes_schema_valid_traffic_at_its_rates():
    with Mosquitto() as broker:
        hub = Hub(broker.port, subscription="vc/#")
        fleet = Fleet(broker.port, venues=12, connections=2)
        try:
            for venue in fleet.venues:
                for kind, payload in every_kind(venue):
                    MODELS["events" if kind == "event" else kind].model_validate_json(payload)
            fleet.online()
            fleet.run(seconds=3.0, scale=30.0)  # status every 1 s, metrics every 2 s, an event every 10 s
            assert fleet.wait_acked(30)
            sent = fleet.sent
            received = hub.wait_for(lambda m: True, count=sent.total, timeout=30)
        finally:
            fleet.close()
            hub.client.disconnect()
    assert sent.counts["availability"] == 12
    assert sent.counts["status"] >= 12 + 30 and sent.counts["metrics"] >= 15 and sent.counts["event"] >= 3
    by_leaf: dict[str, int] = defaultdict(int)
    seqs: dict[str, list[int]] = defaultdict(list)
    for message in received:
        leaf = message.topic.rsplit("/", 1)[1]
        by_leaf[leaf] += 1
        if leaf == "availability":
            assert message.payload == b"online"
            continue
        model = MODELS[leaf].model_validate_json(message.payload)
        venue = model.venue
        assert message.topic == f"vc/jilin/{venue.prefecture}/{venue.county}/{venue.id}/{leaf}"
        if leaf == "events":
            seqs[venue.id + venue.county + venue.prefecture].append(model.seq)
            assert model.data["bench_sent"] > 0
    assert by_leaf == {
        "availability": 12,
        "status": sent.counts["status"],
        "metrics": sent.counts["metrics"],
        "events": sent.counts["event"],
    }
    assert all(sorted(s) == list(range(1, len(s) + 1)) for s in seqs.values())
    assert {json.loads(m.payload)["id"] for m in received if m.topic.endswith("/events")} == set(sent.event_ids)
