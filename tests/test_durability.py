"""Nothing is lost: a cut uplink, a kill -9 during the cut and a restart lose no event and reorder none."""

from __future__ import annotations

import time

from sim.netcut import CuttableProxy

BASE = "vc/jilin/changchun/nongan/main"


def _distinct_in_arrival_order(events: list[dict]) -> list[dict]:
    seen: set[str] = set()
    distinct = []
    for event in events:
        if event["id"] not in seen:
            seen.add(event["id"])
            distinct.append(event)
    return distinct


def test_cut_kill9_restart_delivers_every_event_in_order_once(broker, hub, start_agent):
    uplink = CuttableProxy(broker.port)
    try:
        url = f"mqtt://127.0.0.1:{uplink.port}"
        agent = start_agent(url, flap_interval_s=0.05, keepalive_s=5, status_interval_s=60)
        hub.wait_for(lambda m: m.topic == f"{BASE}/events", count=5)

        uplink.sever("blackhole")  # silent cut: packets vanish, as when the fibre is dug up
        time.sleep(1.5)  # the agent keeps raising events; they can only go to the outbox
        agent.kill9()  # ...and then the PC loses power
        before_restart = len(hub.events())

        agent.start()  # back up, still cut off
        time.sleep(1.0)
        uplink.restore()

        # Once the uplink is back, the second start's agent.started and everything before it arrive.
        hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "agent.started", count=2, timeout=30)
        time.sleep(1.0)
        assert agent.stop() == 0
        hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "agent.stopping", timeout=30)
    finally:
        uplink.close()

    events = hub.events()
    distinct = _distinct_in_arrival_order(events)
    seqs = [event["seq"] for event in distinct]
    assert seqs == list(range(1, len(seqs) + 1)), f"gaps or reordering: {seqs}"
    assert len({event["seq"] for event in events}) == len(distinct), "one seq was given to two events"
    assert len(distinct) > before_restart + 10, "the cut should have queued a good number of events"
    assert [e["code"] for e in distinct].count("agent.started") == 2
