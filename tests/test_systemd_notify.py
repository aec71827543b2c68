"""Type=notify readiness, watchdog pings and STOPPING, received on a real AF_UNIX datagram socket."""

from __future__ import annotations

import socket
import time

BASE = "vc/jilin/changchun/nongan/main"


def test_agent_notifies_ready_watchdog_and_stopping(broker, hub, start_agent, tmp_path):
    path = str(tmp_path / "notify.sock")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(path)
    receiver.settimeout(0.2)
    try:
        agent = start_agent(broker.url, env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
        hub.wait_for(lambda m: m.topic == f"{BASE}/availability" and m.text == "online")
        time.sleep(1.0)
        assert agent.stop() == 0
        datagrams: list[str] = []
        while True:
            try:
                datagrams.append(receiver.recv(4096).decode())
            except TimeoutError:
                break
    finally:
        receiver.close()
    fields = [line for datagram in datagrams for line in datagram.split("\n")]
    assert "READY=1" in fields
    assert any(field.startswith("STATUS=publishing to") for field in fields)
    assert fields.count("WATCHDOG=1") >= 3  # every 0.2 s (half of WATCHDOG_USEC) for about a second
    assert "STOPPING=1" in fields
    assert fields.index("READY=1") < fields.index("STOPPING=1")
