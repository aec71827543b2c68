"""A stateful model of the outbox: hypothesis interleaves appends, the broker taking and acknowledging
messages, a broker session lost, a real filesystem filling and freed, kill -9, a clean reopen and a
corrupted file, and after every step checks the promises of docs/outbox.md:

- nothing acknowledged by the broker is handed out again (after a kill, only rows whose DELETE the
  disk had refused may come back — the same message, same seq);
- nothing queued is lost except as the written policy says, and then counted: the messages that
  vanished never outnumber the drops counted plus the losses reported (held_lost, replaced);
- `pending` counts exactly what is in the file and in memory; no message is both, none twice;
- per kind, `seq` never repeats or goes back, and leaps only after a kill or a lost file;
- what is handed out in one broker session comes in the order it was appended, and when the
  broker takes with room to spare, everything pending has been handed out — held messages too,
  whatever the disk says.

The outbox lives in a child process (tests/outbox_child.py) so that the kill is a real SIGKILL,
on a real tmpfs that the test fills until the kernel says ENOSPC — or under a file-size limit
(RLIMIT_FSIZE, set on the child with prlimit) that makes the kernel refuse every write past 4 KiB
with EFBIG. The two differ: a full tmpfs still lets SQLite reuse WAL pages it already has, so some
writes pass; the limit refuses them all (a DELETE too).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from tests.outbox_disk import SmallDisk, small_disk

ROOT = Path(__file__).resolve().parents[1]
KINDS = ["event", "selftest", "metric"]
MAX_MESSAGES = 25  # small bounds, so that a 30-step run reaches them
MAX_HELD = 8


class Child:
    """The outbox's process, spoken to over a pipe."""

    def __init__(self, path: Path, stderr: Path):
        with stderr.open("ab") as errors:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.outbox_child", str(path), str(MAX_MESSAGES), str(MAX_HELD)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                cwd=ROOT,
            )
        self.stderr = stderr
        self.opened = self._read()

    def call(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            raise AssertionError(f"the outbox process died: {self.stderr.read_text(errors='replace')[-2000:]}")
        return json.loads(line)

    def limit_file_size(self, limit: int) -> None:
        _, hard = resource.prlimit(self.process.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(self.process.pid, resource.RLIMIT_FSIZE, (limit, hard))

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self) -> None:
        self.call(op="close")
        self.process.wait(timeout=10)


def _zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def _foreign_table(path: Path) -> None:
    path.write_bytes(b"")
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE outbox (x TEXT)")


DAMAGE = {"zero-bytes": _zero_bytes, "random-bytes": _random_bytes, "foreign-table": _foreign_table}


class OutboxModel(RuleBasedStateMachine):
    disk: SmallDisk  # set by the test before the run
    logs: Path

    @initialize(full_soon=st.booleans())
    def start(self, full_soon: bool) -> None:
        """(Half the runs fill the disk right after the first open: that is where the promises are hard.)"""
        self.dir = self.disk.path / uuid.uuid4().hex[:8]
        self.dir.mkdir()
        self.path = self.dir / "outbox.sqlite3"
        self.appended: dict[str, tuple[str, int, int]] = {}  # token -> (kind, seq, order of append)
        self.acked: set[str] = set()
        self.acked_here: set[str] = set()  # acknowledged in this process
        self.acked_for_good: set[str] = set()  # acknowledged with no DELETE left pending
        self.in_flight: dict[int, str] = {}  # key -> token, handed out and not acknowledged
        self.last_seq = dict.fromkeys(KINDS, 0)
        self.may_leap = dict.fromkeys(KINDS, False)
        self.session_order = 0
        self.handed: set[str] = set()  # handed out in this broker session
        self.reported_losses = 0
        self.dropped = 0
        self.refusing: str | None = None  # "full" (the tmpfs) or "limit" (RLIMIT_FSIZE)
        self.refusing_for = 0
        self.child = Child(self.path, self.logs)
        self.observe(self.child.opened)
        if full_soon:
            self.disk_refuses("full")

    def teardown(self) -> None:
        child = getattr(self, "child", None)
        if child is not None and child.process.poll() is None:
            child.kill9()
        self.disk.free()
        if hasattr(self, "dir"):
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- the outside world -----------------------------------------------------------------------
    @rule(kind=st.sampled_from(KINDS), count=st.integers(1, 3))
    def append(self, kind: str, count: int) -> None:
        self._append(kind, count)

    @rule(kind=st.sampled_from(KINDS), count=st.integers(4, 9))
    def append_burst(self, kind: str, count: int) -> None:
        """(A second rule makes appends likelier, so that the bounds and the hold are reached.)"""
        self._append(kind, count)

    def _append(self, kind: str, count: int) -> None:
        tokens = [uuid.uuid4().hex for _ in range(count)]
        reply = self.child.call(op="append", kind=kind, tokens=tokens)
        for token, seq in zip(tokens, reply["seqs"], strict=True):
            assert seq > self.last_seq[kind], f"{kind} seq {seq} after {self.last_seq[kind]}: repeated or back"
            if not self.may_leap[kind]:
                assert seq == self.last_seq[kind] + 1, f"{kind} seq leapt {self.last_seq[kind]} → {seq} with no loss"
            self.last_seq[kind], self.may_leap[kind] = seq, False
            self.appended[token] = (kind, seq, len(self.appended) + 1)
        self.observe(reply)

    @rule(limit=st.sampled_from([1, 3, 8, 30]))
    def broker_takes(self, limit: int) -> None:
        """A delivery step of the link: the outbox retries its disk (rate-limited), then hands out."""
        reply = self.child.call(op="pump", limit=limit)
        for key, token, seq in reply["sent"]:
            assert token in self.appended, "handed out a message never appended"
            assert self.appended[token][1] == seq, "a message came back with another seq"
            assert token not in self.acked_here, "handed out again after its PUBACK"
            assert token not in self.acked_for_good, "handed out again after its PUBACK and DELETE"
            order = self.appended[token][2]
            assert order > self.session_order, "handed out out of order"
            self.session_order = order
            self.in_flight[key] = token
            self.handed.add(token)
        self.observe(reply)
        if len(reply["sent"]) < limit:
            waiting = (set(reply["in_file"]) | set(reply["in_memory"])) - self.acked - self.handed
            assert not waiting, f"{len(waiting)} pending message(s) not handed out although the broker had room"

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def broker_acknowledges(self, data: st.DataObject) -> None:
        keys = data.draw(st.lists(st.sampled_from(sorted(self.in_flight)), min_size=1, unique=True))
        reply = self.child.call(op="ack", keys=keys)
        tokens = [self.in_flight.pop(key) for key in keys]
        self.acked.update(tokens)
        self.acked_here.update(tokens)
        self.observe(reply)

    @rule(limit=st.sampled_from([3, 30]))
    def broker_round_trip(self, limit: int) -> None:
        """A broker that is up: it takes and acknowledges at once (refused DELETEs on a full disk)."""
        self.broker_takes(limit)
        if self.in_flight:
            keys = sorted(self.in_flight)
            reply = self.child.call(op="ack", keys=keys)
            tokens = [self.in_flight.pop(key) for key in keys]
            self.acked.update(tokens)
            self.acked_here.update(tokens)
            self.observe(reply)

    @rule()
    def broker_session_lost(self) -> None:
        """A new session: what was in flight is forgotten, everything unacknowledged goes out again."""
        self.in_flight.clear()
        self.session_order = 0
        self.handed.clear()
        self.observe(self.child.call(op="rewind"))

    @precondition(lambda self: self.refusing is None)
    @rule(how=st.sampled_from(["full", "limit"]))
    def disk_refuses(self, how: str) -> None:
        if how == "full":
            self.disk.fill()
        else:
            self.child.limit_file_size(4096)
        self.refusing, self.refusing_for = how, 0

    @precondition(lambda self: self.refusing is not None and self.refusing_for >= 6)
    @rule()
    def disk_accepts_again(self) -> None:
        """(Only after a few steps: a disk freed at once would seldom see anything held.)"""
        if self.refusing == "full":
            self.disk.free()
        else:
            self.child.limit_file_size(resource.RLIM_INFINITY)
        self.refusing = None

    @rule(how=st.sampled_from(["kill -9", "clean stop", *DAMAGE]))
    def process_ends_and_starts_again(self, how: str) -> None:
        if how == "clean stop":
            self.child.close()
        else:
            self.child.kill9()
        if how in DAMAGE:
            self.disk.free()  # (the damage needs room; a power cut, then someone cleaned the disk)
            self.refusing = None
            DAMAGE[how](self.path)
        self.in_flight.clear()
        self.acked_here.clear()
        self.session_order = 0
        self.handed.clear()
        self.may_leap = dict.fromkeys(KINDS, True)
        self.child = Child(self.path, self.logs)
        if self.refusing == "limit":  # the limit was the dead process's: the new one gets it after opening
            self.child.limit_file_size(4096)
        self.observe(self.child.opened)

    # -- the promises, after every step ------------------------------------------------------------
    def observe(self, reply: dict[str, Any]) -> None:
        self.refusing_for += 1
        for code, fields in reply["notices"]:
            assert code != "outbox.replaced_unknown_loss", "the marks were there: the loss is knowable"
            if code == "outbox.held_lost":
                self.reported_losses += fields["count"]
            elif code == "outbox.replaced":
                self.reported_losses += fields["lost"]
        in_file, in_memory = reply["in_file"], reply["in_memory"]
        contents = set(in_file) | set(in_memory)
        assert contents <= set(self.appended), "phantom messages"
        assert len(in_file) == len(set(in_file)), "a message is in the file twice"
        assert not set(in_file) & set(in_memory), "a message is both in the file and held in memory"
        assert reply["pending"] == len(in_file) - reply["undeleted"] + len(in_memory), "pending miscounts"
        assert reply["held"] == len(in_memory) <= MAX_HELD
        assert reply["dropped"] >= self.dropped, "the drop count went back"
        self.dropped = reply["dropped"]
        lost = set(self.appended) - self.acked - contents
        assert len(lost) <= self.dropped + self.reported_losses, (
            f"{len(lost)} message(s) gone, {self.dropped} drop(s) counted, {self.reported_losses} loss(es) reported"
        )
        if reply["undeleted"] == 0:
            self.acked_for_good |= self.acked_here


def test_outbox_keeps_its_promises_through_full_disks_kills_and_bad_files(tmp_path):
    with small_disk(tmp_path / "disk", size="1m") as disk:
        OutboxModel.disk = disk
        OutboxModel.logs = tmp_path / "children.log"
        run_state_machine_as_test(
            OutboxModel,
            settings=settings(
                max_examples=50,
                stateful_step_count=35,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
                derandomize=False,
            ),
        )
