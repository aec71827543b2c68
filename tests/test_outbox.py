"""The outbox on real SQLite files: order, sequence across restarts, bounds, corrupt and refusing disks."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.outbox import Kind, Outbox

MODES = {
    "autocommit": None,
    # Group commit as the daemon runs it; here the deferred commits simply pile up, and reads
    # (after), close() and explicit commit() calls end the batch, as the sender does.
    "group-commit": lambda callback: None,
}


@pytest.fixture(params=list(MODES))
def defer(request):
    return MODES[request.param]


def payload(text: str):
    return lambda seq: json.dumps({"seq": seq, "text": text}).encode()


def drain(outbox: Outbox) -> list[dict]:
    return [json.loads(row.payload) for row in outbox.after(0, 10_000)]


def test_order_and_gap_free_seq_survive_reopen(tmp_path, defer):
    path = tmp_path / "outbox.sqlite3"
    first = Outbox(path, defer=defer)
    first.open()
    assert [first.append(Kind.EVENT, "t/events", payload(f"e{i}")) for i in range(3)] == [1, 2, 3]
    first.append(Kind.METRIC, "t/metrics", payload("m"))
    rows = first.after(0, 10)
    first.delete([rows[0].id])  # the first was acknowledged
    first.close()  # (as after a crash: nothing else is written on close)

    second = Outbox(path, defer=defer)
    second.open()
    assert second.pending == 3
    assert second.append(Kind.EVENT, "t/events", payload("e3")) == 4  # seq continues, no reuse
    assert [item["text"] for item in drain(second)] == ["e1", "e2", "m", "e3"]
    second.delete([row.id for row in second.after(0, 100)])
    assert second.pending == 0
    second.close()
    third = Outbox(path, defer=defer)
    third.open()
    assert third.append(Kind.EVENT, "t/events", payload("e4")) == 5  # even after the table emptied


def test_bound_drops_oldest_metrics_first_then_counts_event_drops(tmp_path, defer):
    outbox = Outbox(tmp_path / "o.sqlite3", max_messages=100, defer=defer)
    outbox.open()
    for i in range(60):
        outbox.append(Kind.METRIC, "m", payload(f"m{i}"))
    for i in range(60):
        outbox.append(Kind.EVENT, "e", payload(f"e{i}"))
    assert outbox.pending == 100 and outbox.dropped_metrics == 20 and outbox.dropped_events == 0
    texts = [item["text"] for item in drain(outbox)]
    assert texts[0] == "m20" and texts[-1] == "e59"
    for i in range(60, 150):
        outbox.append(Kind.EVENT, "e", payload(f"e{i}"))
    assert outbox.pending == 100 and outbox.dropped_metrics == 60 and outbox.dropped_events == 50
    assert drain(outbox)[0]["text"] == "e50"
    codes = [code for code, _ in outbox.take_notices()]
    assert "outbox.dropped" in codes
    outbox.close()
    reopened = Outbox(tmp_path / "o.sqlite3", max_messages=100, defer=defer)
    reopened.open()
    assert (reopened.dropped_metrics, reopened.dropped_events) == (60, 50)  # counts survive a restart


def test_corrupt_file_is_moved_aside_and_replaced(tmp_path, defer):
    path = tmp_path / "outbox.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    outbox = Outbox(path, defer=defer)
    outbox.open()
    [(code, fields)] = outbox.take_notices()
    assert code == "outbox.corrupt_replaced" and Path(fields["moved"]).read_bytes().startswith(b"this is not")
    assert outbox.append(Kind.EVENT, "e", payload("after")) == 1
    assert drain(outbox)[0]["text"] == "after"


def test_unopenable_state_dir_holds_in_memory_then_recovers(tmp_path, defer):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state directory should be")
    outbox = Outbox(blocker / "outbox.sqlite3", defer=defer)
    outbox.open()
    assert outbox.storage_error and "state" in outbox.storage_error
    outbox.append(Kind.EVENT, "e", payload("a"))
    outbox.append(Kind.EVENT, "e", payload("b"))
    assert outbox.held == 2 and outbox.pending == 2
    outbox.retry_held()
    assert outbox.held == 2  # still blocked
    blocker.unlink()
    outbox.retry_held()
    assert outbox.held == 0 and outbox.storage_error is None
    assert [item["text"] for item in drain(outbox)] == ["a", "b"]
    assert [code for code, _ in outbox.take_notices()] == ["outbox.storage_error", "outbox.storage_recovered"]


@pytest.mark.parametrize("group_commit", [False, True])
def test_full_disk_holds_messages_and_writes_them_when_space_returns(tmp_path, group_commit):
    """A real write failure: the file-size limit (RLIMIT_FSIZE) makes the kernel refuse writes (EFBIG)."""
    script = textwrap.dedent(
        f"""
        import json, resource, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from agent.outbox import Kind, Outbox
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        defer = (lambda callback: None) if {group_commit!r} else None
        outbox = Outbox(__import__("pathlib").Path({str(tmp_path / "full.sqlite3")!r}), defer=defer)
        outbox.open()
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, hard))
        blob = "x" * 4000
        for i in range(200):
            outbox.append(Kind.EVENT, "e", lambda seq, i=i: json.dumps({{"seq": seq, "i": i, "b": blob}}).encode())
            if i % 7 == 6:
                outbox.commit()  # the end of an event-loop step
        outbox.commit()
        held, error = outbox.held, outbox.storage_error
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        outbox.retry_held()
        rows = [json.loads(r.payload) for r in outbox.after(0, 1000)]
        print(json.dumps({{"held": held, "error": error, "after": outbox.held, "recovered": outbox.storage_error,
                          "seqs": [r["seq"] for r in rows], "notices": [c for c, _ in outbox.take_notices()]}}))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["held"] > 0 and report["error"], report
    assert report["after"] == 0 and report["recovered"] is None
    assert report["seqs"] == list(range(1, 201))  # all there, in order, none lost
    assert report["notices"] == ["outbox.storage_error", "outbox.storage_recovered"]
