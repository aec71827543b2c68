"""The outbox on real SQLite files and a real filesystem that fills: order, seq across restarts and
lost files, bounds, every bad shape of file, a disk that refuses writes."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.outbox import Kind, Outbox
from tests.outbox_disk import small_disk

MODES = {
    "autocommit": None,
    # Group commit as the daemon runs it; here the deferred commits simply pile up, and reads
    # (after), close() and explicit commit() calls end the batch, as the sender does.
    "group-commit": lambda callback: None,
}


@pytest.fixture(params=list(MODES))
def defer(request):
    return MODES[request.param]


@pytest.fixture
def disk(tmp_path):
    with small_disk(tmp_path / "disk", size="2m") as mounted:
        yield mounted


def payload(text: str, pad: int = 0):
    return lambda seq: json.dumps({"seq": seq, "text": text, "pad": "x" * pad}).encode()


def drain(outbox: Outbox) -> list[dict]:
    return [json.loads(row.payload) for row in outbox.after(0, 10_000)]


def codes(outbox: Outbox) -> list[str]:
    return [code for code, _ in outbox.take_notices()]


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


def test_bound_drops_oldest_metrics_first_counts_each_drop_once_in_one_notice(tmp_path, defer, caplog):
    outbox = Outbox(tmp_path / "o.sqlite3", max_messages=100, defer=defer)
    outbox.open()
    for i in range(60):
        outbox.append(Kind.METRIC, "m", payload(f"m{i}"))
    for i in range(60):
        outbox.append(Kind.EVENT, "e", payload(f"e{i}"))
    assert outbox.pending == 100 and outbox.dropped_metrics == 20 and outbox.dropped_events == 0
    texts = [item["text"] for item in drain(outbox)]
    assert texts[0] == "m20" and texts[-1] == "e59"
    with caplog.at_level(logging.INFO, logger="agent.outbox"):
        for i in range(60, 150):
            outbox.append(Kind.EVENT, "e", payload(f"e{i}"))
        assert outbox.pending == 100 and outbox.dropped_metrics == 60 and outbox.dropped_events == 50
        assert drain(outbox)[0]["text"] == "e50"
        notices = outbox.take_notices()
    # 110 drops in 110 appends: one notice per kind, with the count, and one log line each.
    assert sorted((code, f["kind"], f["count"], f["total"]) for code, f in notices) == [
        ("outbox.dropped", "events", 50, 50),
        ("outbox.dropped", "metrics", 60, 60),
    ]
    assert len(caplog.records) == 2
    outbox.close()
    reopened = Outbox(tmp_path / "o.sqlite3", max_messages=100, defer=defer)
    reopened.open()
    assert (reopened.dropped_metrics, reopened.dropped_events) == (60, 50)  # counts survive a restart


def test_unopenable_state_dir_holds_in_memory_sends_from_there_then_recovers(tmp_path, defer):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state directory should be")
    outbox = Outbox(blocker / "outbox.sqlite3", defer=defer, retry_every_s=0)
    outbox.open()
    assert outbox.storage_error and "state" in outbox.storage_error
    outbox.append(Kind.EVENT, "e", payload("a"))
    outbox.append(Kind.EVENT, "e", payload("b"))
    assert outbox.held == 2 and outbox.pending == 2
    # While storage fails, held messages still go to the broker (the link hands them out).
    assert [json.loads(m.payload)["text"] for m in outbox.next_to_send(10)] == ["a", "b"]
    outbox.retry_held()
    assert outbox.held == 2  # still blocked
    blocker.unlink()
    outbox.retry_held()
    assert outbox.held == 0 and outbox.storage_error is None
    assert [item["text"] for item in drain(outbox)] == ["a", "b"]
    assert outbox.next_to_send(10) == []  # handed out already: not a second time
    assert codes(outbox) == ["outbox.storage_error", "outbox.storage_recovered"]


def test_full_disk_40_appends_none_lost_no_phantom_drops(disk, defer, caplog):
    """The issue's direct test: 40 appends on a full disk reported 725 drops and 5 rows survived."""
    path = disk.path / "outbox.sqlite3"
    outbox = Outbox(path, defer=defer, retry_every_s=0)
    outbox.open()
    for i in range(10):
        outbox.append(Kind.EVENT, "e", payload(f"before{i}", pad=300))
    outbox.commit()
    disk.fill()
    with caplog.at_level(logging.INFO, logger="agent.outbox"):
        for i in range(40):
            outbox.append(Kind.EVENT, "e", payload(f"full{i}", pad=300))
            if i % 3 == 2:
                outbox.commit()  # the end of an event-loop step
            if i % 10 == 9:
                outbox.retry_held()  # the link's delivery step, while the disk is still full
        outbox.commit()
        assert outbox.storage_error and "full" in outbox.storage_error
        assert outbox.pending == 50 and outbox.dropped_events == 0 and outbox.dropped_metrics == 0
        assert outbox.held >= 30  # some may have fitted in the WAL's reused pages
        assert [m.seq for m in outbox.next_to_send(100)] == list(range(1, 51))  # sent from disk, then memory
        disk.free()
        outbox.retry_held()
        assert outbox.held == 0 and outbox.storage_error is None and outbox.pending == 50
        assert [item["seq"] for item in drain(outbox)] == list(range(1, 51))
        assert codes(outbox) == ["outbox.storage_error", "outbox.storage_recovered"]
    assert len(caplog.records) <= 3, [r.getMessage() for r in caplog.records]
    outbox.close()
    again = Outbox(path, defer=defer)
    again.open()
    assert again.pending == 50 and again.append(Kind.EVENT, "e", payload("next")) == 51


def test_held_messages_acked_from_memory_are_not_written_back_and_nothing_is_sent_twice(disk):
    outbox = Outbox(disk.path / "outbox.sqlite3", retry_every_s=0)
    outbox.open()
    outbox.append(Kind.EVENT, "e", payload("on-disk"))
    disk.fill()
    for i in range(6):
        outbox.append(Kind.EVENT, "e", payload(f"held{i}", pad=2000))
    assert outbox.held == 6
    first = outbox.next_to_send(4)  # the row on disk, then held0..held2 in flight
    assert [json.loads(m.payload)["text"] for m in first] == ["on-disk", "held0", "held1", "held2"]
    outbox.delete([first[0].id, first[1].id])  # PUBACKs: the row (its DELETE is refused) and held0
    assert outbox.pending == 5 and outbox.held == 5
    disk.free()
    outbox.retry_held()
    assert outbox.held == 0 and outbox.pending == 5
    assert [item["text"] for item in drain(outbox)] == ["held1", "held2", "held3", "held4", "held5"]
    # held1, held2 are in flight: only the three never handed out come next, and the late PUBACKs
    # of held1/held2 delete the rows they were written to.
    assert [json.loads(m.payload)["text"] for m in outbox.next_to_send(10)] == ["held3", "held4", "held5"]
    outbox.delete([first[2].id, first[3].id])
    assert [item["text"] for item in drain(outbox)] == ["held3", "held4", "held5"]
    outbox.rewind()  # a new broker session hands out all that is unacknowledged again
    assert [json.loads(m.payload)["text"] for m in outbox.next_to_send(10)] == ["held3", "held4", "held5"]


def test_refused_deletes_are_not_sent_again_nor_keep_held_messages_waiting(disk):
    outbox = Outbox(disk.path / "outbox.sqlite3", retry_every_s=0)
    outbox.open()
    for i in range(3):
        outbox.append(Kind.EVENT, "e", payload(f"row{i}"))
    disk.fill()
    rows = outbox.next_to_send(3)
    outbox.delete([row.id for row in rows])  # PUBACKs; the disk refuses the DELETE
    assert outbox.deletes_pending == 3 and outbox.pending == 0
    outbox.append(Kind.EVENT, "e", payload("held"))
    outbox.rewind()  # a new broker session, the rows still in the file
    # The acknowledged rows are not handed out again, nor do they use up the room of three.
    assert [json.loads(m.payload)["text"] for m in outbox.next_to_send(3)] == ["held"]
    disk.free()
    outbox.retry_held()
    assert outbox.deletes_pending == 0 and outbox.storage_error is None
    assert [item["text"] for item in drain(outbox)] == ["held"]


def test_memory_bound_drops_oldest_unsent_metrics_first_counted_once(disk, caplog):
    outbox = Outbox(disk.path / "outbox.sqlite3", max_held=10, retry_every_s=0)
    outbox.open()
    disk.fill()
    outbox.append(Kind.EVENT, "e", payload("e-first"))
    assert [json.loads(m.payload)["text"] for m in outbox.next_to_send(1)] == ["e-first"]  # in flight
    for i in range(5):
        outbox.append(Kind.METRIC, "m", payload(f"m{i}"))
    with caplog.at_level(logging.INFO, logger="agent.outbox"):
        for i in range(12):
            outbox.append(Kind.EVENT, "e", payload(f"e{i}"))
        assert outbox.held == 10 and outbox.pending == 10
        assert (outbox.dropped_metrics, outbox.dropped_events) == (5, 3)
        held = [json.loads(m.payload)["text"] for m in outbox.next_to_send(100)]
        assert held == [f"e{i}" for i in range(3, 12)]  # e-first, in flight, was kept and not sent again
        notices = sorted((code, f.get("kind"), f.get("count")) for code, f in outbox.take_notices())
    assert ("outbox.dropped_held", "metrics", 5) in notices and ("outbox.dropped_held", "events", 3) in notices
    assert sum(1 for r in caplog.records if "dropped" in r.getMessage()) == 2
    disk.free()
    outbox.retry_held()
    assert outbox.held == 0 and outbox.pending == 10
    assert outbox.dropped_events == 3  # written to the file's counters with the write-back
    outbox.close()


def test_bytes_bound_keeps_held_memory_small(disk):
    outbox = Outbox(disk.path / "outbox.sqlite3", max_held_bytes=64 * 1024, retry_every_s=0)
    outbox.open()
    disk.fill()
    for i in range(200):
        outbox.append(Kind.EVENT, "e", payload(f"e{i}", pad=1000))
    assert outbox.held < 70 and outbox.dropped_events == 200 - outbox.held


def _queue_nine(path: Path) -> None:
    outbox = Outbox(path)
    outbox.open()
    for i in range(9):
        outbox.append(Kind.EVENT, "e", payload(f"e{i}"))
    outbox.close()


def _truncate_to_zero(path: Path) -> None:
    path.write_bytes(b"")
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(8192))
    Path(f"{path}-wal").unlink(missing_ok=True)


def _half_a_file(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:100] + os.urandom(len(data) - 100))  # header kept, pages garbage
    Path(f"{path}-wal").unlink(missing_ok=True)


def _foreign_outbox_table(path: Path) -> None:
    _truncate_to_zero(path)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE outbox (x TEXT)")
        db.execute("INSERT INTO outbox VALUES ('someone else')")


def _another_programs_database(path: Path) -> None:
    _truncate_to_zero(path)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE songs (title TEXT)")


def _directory_in_its_place(path: Path) -> None:
    _truncate_to_zero(path)
    path.unlink()
    path.mkdir()


BAD_FILES = {
    "zero-bytes": _truncate_to_zero,
    "random-bytes": _random_bytes,
    "half-garbage": _half_a_file,
    "foreign-outbox-table": _foreign_outbox_table,
    "another-programs-database": _another_programs_database,
    "a-directory": _directory_in_its_place,
}


@pytest.mark.parametrize("damage", list(BAD_FILES))
def test_every_bad_file_is_moved_aside_said_with_its_loss_and_seq_continues(tmp_path, damage, defer):
    path = tmp_path / "outbox.sqlite3"
    _queue_nine(path)
    BAD_FILES[damage](path)
    outbox = Outbox(path, defer=defer)
    outbox.open()
    [(code, fields)] = outbox.take_notices()
    assert code == "outbox.replaced" and fields["lost"] == 9 and fields["last_seq"] == 9, fields
    assert Path(fields["moved"]).exists() and fields["error"]
    assert outbox.storage_error is None
    assert outbox.append(Kind.EVENT, "e", payload("after")) == 10  # not 1: the loss stays visible
    assert [item["text"] for item in drain(outbox)] == ["after"]
    outbox.close()


def test_a_bad_file_with_no_marks_is_replaced_and_the_loss_said_to_be_unknown(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    outbox = Outbox(path)
    outbox.open()
    [(code, fields)] = outbox.take_notices()
    assert code == "outbox.replaced_unknown_loss" and Path(fields["moved"]).read_bytes().startswith(b"this is not")
    assert outbox.append(Kind.EVENT, "e", payload("after")) == 1
    assert drain(outbox)[0]["text"] == "after"


def test_bad_counters_and_malformed_rows_are_repaired_keeping_good_rows(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    _queue_nine(path)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("INSERT OR REPLACE INTO counters VALUES ('seq:event', 'abc'), ('dropped:event', 'x')")
        db.executemany(
            "INSERT INTO outbox(kind, seq, topic, payload, retain, created) VALUES (?, ?, ?, x'00', 0, 0)",
            [("zzz", 1, "t"), ("event", 99, "a/#"), ("event", "x", "t")],  # bad kind, wildcard topic, text seq
        )
    outbox = Outbox(path)
    outbox.open()
    assert outbox.take_notices() == [("outbox.repaired", {"rows": 3, "counters": 2})]
    assert [item["text"] for item in drain(outbox)] == [f"e{i}" for i in range(9)]
    assert outbox.append(Kind.EVENT, "e", payload("after")) == 10


def test_seq_survives_a_lost_file_even_when_every_row_was_acknowledged(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    _queue_nine(path)
    outbox = Outbox(path)
    outbox.open()
    outbox.delete([row.id for row in outbox.after(0, 100)])
    outbox.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)  # the file is gone altogether
    again = Outbox(path)
    again.open()
    assert again.append(Kind.EVENT, "e", payload("after")) == 10
    assert again.take_notices() == []  # nothing was queued in it: nothing lost, nothing to say


def test_damaged_marks_fall_back_to_the_file(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    _queue_nine(path)
    Path(f"{path}.marks").write_bytes(os.urandom(1024))
    outbox = Outbox(path)
    outbox.open()
    assert outbox.append(Kind.EVENT, "e", payload("after")) == 10
    outbox.close()
    again = Outbox(path)  # and the marks are whole again
    again.open()
    assert again.append(Kind.EVENT, "e", payload("next")) == 11


def test_read_only_disk_holds_sends_and_writes_back_after_remount(disk):
    path = disk.path / "outbox.sqlite3"
    _queue_nine(path)
    disk.remount("ro")
    try:
        outbox = Outbox(path, retry_every_s=0)
        outbox.open()
        assert outbox.storage_error
        assert outbox.append(Kind.EVENT, "e", payload("while-ro")) == 10  # marks: read-only too, from the file
        assert outbox.held == 1
        assert json.loads(outbox.next_to_send(100)[-1].payload)["text"] == "while-ro"
        outbox.retry_held()
        assert outbox.held == 1
    finally:
        disk.remount("rw")
    outbox.retry_held()
    assert outbox.held == 0 and outbox.storage_error is None
    assert [item["seq"] for item in drain(outbox)] == list(range(1, 11))


HOLD_AND_DIE = """
import json, os, sys
from pathlib import Path
from agent.outbox import Kind, Outbox
outbox = Outbox(Path(sys.argv[1]), retry_every_s=3600)
outbox.open()
filler = open(Path(sys.argv[1]).parent / "filler.bin", "ab", buffering=0)
try:
    while True:
        filler.write(b"\\0" * 4096)
except OSError:
    pass
for i in range(5):
    outbox.append(Kind.EVENT, "e", lambda seq: json.dumps({"seq": seq, "pad": "x" * 3000}).encode())
print(outbox.held, flush=True)
sys.stdin.read()  # killed here
"""


def test_kill9_while_holding_on_a_full_disk_is_reported_and_seq_moves_past_the_held(disk):
    path = disk.path / "outbox.sqlite3"
    _queue_nine(path)
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_DIE, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        held = int(child.stdout.readline())
    finally:
        child.kill()
        child.wait(timeout=10)
    assert held == 5
    disk.free()
    outbox = Outbox(path)
    outbox.open()
    assert outbox.take_notices() == [("outbox.held_lost", {"count": 5})]
    assert outbox.pending == 9
    assert outbox.append(Kind.EVENT, "e", payload("after")) == 15  # 10..14 were held and may have been sent


@pytest.mark.parametrize("group_commit", [False, True])
def test_file_size_limit_holds_messages_and_writes_them_when_lifted(tmp_path, group_commit):
    """A second real write failure, also where mount is not permitted: the file-size limit
    (RLIMIT_FSIZE) makes the kernel refuse writes (EFBIG)."""
    script = textwrap.dedent(
        f"""
        import json, resource, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from agent.outbox import Kind, Outbox
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        defer = (lambda callback: None) if {group_commit!r} else None
        outbox = Outbox(__import__("pathlib").Path({str(tmp_path / "full.sqlite3")!r}), defer=defer, retry_every_s=0)
        outbox.open()
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, hard))
        blob = "x" * 4000
        for i in range(200):
            outbox.append(Kind.EVENT, "e", lambda seq, i=i: json.dumps({{"seq": seq, "i": i, "b": blob}}).encode())
            if i % 7 == 6:
                outbox.commit()  # the end of an event-loop step
        outbox.commit()
        held, error, pending, dropped = outbox.held, outbox.storage_error, outbox.pending, outbox.dropped_events
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        outbox.retry_held()
        rows = [json.loads(r.payload) for r in outbox.after(0, 1000)]
        print(json.dumps({{"held": held, "error": error, "pending": pending, "dropped": dropped,
                          "after": outbox.held, "recovered": outbox.storage_error,
                          "seqs": [r["seq"] for r in rows], "notices": [c for c, _ in outbox.take_notices()]}}))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["held"] > 0 and report["error"], report
    assert report["pending"] == 200 and report["dropped"] == 0, report  # no phantom messages or drops
    assert report["after"] == 0 and report["recovered"] is None
    assert report["seqs"] == list(range(1, 201))  # all there, in order, none lost
    assert report["notices"] == ["outbox.storage_error", "outbox.storage_recovered"]
