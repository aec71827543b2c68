"""A process that holds one Outbox and obeys JSON lines on stdin, so a test can `kill -9` it for real.

Used by the stateful model test (tests/test_outbox_model.py): the test plays the broker (it takes
what the outbox hands out and acknowledges some of it), fills and frees a real filesystem under the
outbox, and kills this process at any step. Every command ends with a commit, as an event-loop step
of the daemon does, so a kill always falls between steps. Imports stay light: the model test starts
this process many times.

Run: python -m tests.outbox_child PATH MAX_MESSAGES MAX_HELD
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from agent.outbox import Kind, Outbox


def _token(payload: bytes) -> str:
    return json.loads(payload)["token"]


def serve(outbox: Outbox) -> None:
    outbox.open()
    print(json.dumps({"ok": True, **_state(outbox)}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        reply: dict[str, Any] = {"ok": True}
        if op == "append":
            reply["seqs"] = [
                outbox.append(
                    Kind(command["kind"]),
                    f"t/{command['kind']}",
                    lambda seq, token=token: json.dumps({"token": token, "seq": seq}).encode(),
                )
                for token in command["tokens"]
            ]
        elif op == "pump":  # what BrokerLink.pump does once its acks are passed on: retry, then hand out
            if outbox.needs_retry:
                outbox.retry_held()
            reply["sent"] = [[m.id, _token(m.payload), m.seq] for m in outbox.next_to_send(command["limit"])]
        elif op == "ack":
            outbox.delete(command["keys"])
        elif op == "rewind":
            outbox.rewind()
        elif op == "close":
            outbox.close()
            print(json.dumps(reply), flush=True)
            return
        outbox.commit()
        reply.update(_state(outbox))
        print(json.dumps(reply), flush=True)


def _state(outbox: Outbox) -> dict[str, Any]:
    in_file = [_token(row.payload) for row in outbox.after(0, 1_000_000)]
    return {
        "pending": outbox.pending,
        "held": outbox.held,
        "in_file": in_file,
        "in_memory": [_token(m.payload) for m in outbox.held_messages()],
        "undeleted": outbox.deletes_pending,
        "dropped": outbox.dropped_metrics + outbox.dropped_events,
        "storage_error": outbox.storage_error,
        "notices": outbox.take_notices(),
    }


if __name__ == "__main__":
    path, max_messages, max_held = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    serve(Outbox(path, max_messages=max_messages, defer=lambda commit: None, max_held=max_held, retry_every_s=0))
