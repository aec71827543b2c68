"""Fuzz: what an SNMP device answers, from value decoding (collectors/snmp/values.py) to a whole poll
through a profile (collectors/snmp/poll.py) against a real UDP peer that answers at random.

The peer is a small SNMPv2c responder on loopback that decodes each request and answers it with a
plan drawn by hypothesis: values of every SNMP type at the OIDs asked for (or others), OIDs past the
table, going backwards or outside it, error-status answers, wrong request ids, truncated or random
datagrams, silence. Whatever it sends, a poll ends with a DeviceReading (reachable or with its
error), the reading serialises as the probe prints it, and the judges turn it into findings.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from dataclasses import dataclass

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.hlapi.v3arch.asyncio import SnmpEngine
from pysnmp.proto import api, rfc1902, rfc1905

from collectors.snmp.poll import poll_device
from collectors.snmp.profile import ProfileError, load_profiles
from collectors.snmp.reading import DeviceReading
from collectors.snmp.session import SnmpSession, SnmpTarget
from collectors.snmp.values import as_number, octets_to_text, one_line, to_python
from fuzz.budget import examples
from probes.device_thresholds import DeviceThresholds
from probes.snmp import judge

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
TIMEOUT_S = 0.1  # per request; a plan that drops answers costs this much each time
PROFILE_OIDS = sorted(
    {
        oid
        for profile in load_profiles().values()
        for section in (profile.identity.values(), [s.oid for s in profile.status])
        for oid in section
    }
)
SYSTEM = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0"]
MATCHED_IDS = sorted({prefix for profile in load_profiles().values() for prefix in profile.match.sys_object_id})
SYS_OBJECT_IDS = [*MATCHED_IDS, "1.3.6.1.4.1.9", "0.0", "1.3.6.1.4.1.2011.2.23.999"]

# -- values of every SNMP type --------------------------------------------------------------------

OCTETS = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=30).map(lambda t: t.encode("utf-8")),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=10).map(lambda t: t.encode("gb18030")),
    st.sampled_from([b"", b"\x00\x00", b"12.5 %", b"Gi1/0/1\r\n", b"\xff\xfe", b"  42  ", b"1e999", b"nan", b"-0"]),
)
ARCS = st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=12)


def _oid(first: int, second: int, rest: list[int]) -> rfc1902.ObjectIdentifier:
    return rfc1902.ObjectIdentifier((first, second, *rest))


VALUES = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(rfc1902.Integer32),
    OCTETS.map(rfc1902.OctetString),
    st.binary(min_size=4, max_size=4).map(rfc1902.IpAddress),
    st.builds(_oid, st.integers(0, 2), st.integers(0, 39), ARCS),
    st.integers(0, 2**32 - 1).map(rfc1902.Counter32),
    st.integers(0, 2**32 - 1).map(rfc1902.Gauge32),
    st.integers(0, 2**32 - 1).map(rfc1902.TimeTicks),
    st.integers(0, 2**32 - 1).map(rfc1902.Unsigned32),
    st.integers(0, 2**64 - 1).map(rfc1902.Counter64),
    st.binary(max_size=20).map(rfc1902.Opaque),
    st.binary(max_size=4).map(rfc1902.Bits),
    st.sampled_from([rfc1905.noSuchObject, rfc1905.noSuchInstance, rfc1905.endOfMibView]),
    st.just(rfc1902.Integer32(0)).map(lambda _: V2C.Null("")),
)


@given(VALUES)
@settings(max_examples=examples(300), deadline=None)
def test_every_value_type_decodes_to_int_text_or_none(value) -> None:
    decoded = to_python(value)
    assert decoded is None or isinstance(decoded, int | str)
    if isinstance(decoded, str):
        assert one_line(decoded) is not None or decoded == ""
    number = as_number(decoded)
    assert number is None or isinstance(number, float)


@given(st.binary(max_size=200))
@settings(max_examples=examples(300), deadline=None)
def test_octets_are_printable_text_or_hex(data: bytes) -> None:
    text = octets_to_text(data)
    assert text.startswith("0x") or all(ch.isprintable() or ch in "\r\n\t" for ch in text)


# -- a device that answers at random --------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How the responder answers; its random choices come from `seed`."""

    seed: int
    garbage: float  # share of answers that are random bytes
    truncate: float  # share cut short
    wrong_id: float  # share with another request id (pysnmp waits on for the right one)
    silent: float  # share not answered at all
    error_status: float  # share with an error status
    off_path: float  # share of varbinds with an OID outside the column, or going backwards
    rows: int  # table rows a GETBULK column has before its end
    sys_object_id: str


PLANS = st.builds(
    Plan,
    seed=st.integers(0, 2**32),
    garbage=st.sampled_from([0.0, 0.0, 0.05, 0.3]),
    truncate=st.sampled_from([0.0, 0.0, 0.05, 0.3]),
    wrong_id=st.sampled_from([0.0, 0.0, 0.1]),
    silent=st.sampled_from([0.0, 0.0, 0.0, 0.1]),
    error_status=st.sampled_from([0.0, 0.0, 0.1, 0.5]),
    off_path=st.sampled_from([0.0, 0.1, 0.5]),
    rows=st.integers(0, 30),
    sys_object_id=st.sampled_from(SYS_OBJECT_IDS),
)


class RandomDevice:
    """An SNMPv2c responder on 127.0.0.1 answering requests as `plan` says (its own thread)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.plan: Plan | None = None
        self.random = random.Random(0)
        self.values: list = []
        self.rows_given = set()
        self.failures: list[str] = []
        self.answered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fuzz-snmp", daemon=True)
        self._thread.start()

    def use(self, plan: Plan, values: list) -> None:
        self.plan, self.values, self.random = plan, values, random.Random(plan.seed)
        self.rows_given: set[tuple[int, ...]] = set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                answer = self._answer(data)
            except Exception as exc:  # the responder's own bug: make it visible, not a timeout
                self.failures.append(repr(exc))
                continue
            if answer is not None:
                self.sock.sendto(answer, peer)
                self.answered += 1

    def _value(self, oid: tuple[int, ...]):
        if ".".join(map(str, oid)) == "1.3.6.1.2.1.1.2.0" and self.random.random() < 0.7:
            return rfc1902.ObjectIdentifier(self.plan.sys_object_id)  # type: ignore[union-attr]
        return self.random.choice(self.values) if self.values else rfc1902.Integer32(1)

    def _answer(self, data: bytes) -> bytes | None:
        plan, rnd = self.plan, self.random
        if plan is None:
            return None
        if rnd.random() < plan.silent:
            return None
        if rnd.random() < plan.garbage:
            return rnd.randbytes(rnd.randint(0, 80))
        try:
            message, _rest = decoder.decode(data, asn1Spec=V2C.Message())
        except Exception:  # not SNMPv2c: not ours to answer
            return None
        request = V2C.apiMessage.get_pdu(message)
        response = V2C.apiPDU.get_response(request)
        if rnd.random() < plan.wrong_id:
            V2C.apiPDU.set_request_id(response, rnd.randint(0, 2**31 - 1))
        asked = [tuple(oid) for oid, _ in V2C.apiPDU.get_varbinds(request)]
        if request.isSameTypeWith(V2C.GetBulkRequestPDU()):
            repetitions = max(1, min(int(V2C.apiBulkPDU.get_max_repetitions(request)), 50))
            cursors, binds = list(asked), []
            for _ in range(repetitions):
                for i, cursor in enumerate(cursors):
                    oid, value = self._next(cursor)
                    binds.append((oid, value))
                    cursors[i] = oid
        else:
            binds = [(oid, self._value(oid)) for oid in asked]
        V2C.apiPDU.set_varbinds(response, binds)
        if rnd.random() < plan.error_status:
            V2C.apiPDU.set_error_status(response, rnd.randint(1, 18))
            V2C.apiPDU.set_error_index(response, rnd.randint(0, len(binds) + 1))
        V2C.apiMessage.set_pdu(message, response)
        encoded = encoder.encode(message)
        if rnd.random() < plan.truncate:
            return encoded[: rnd.randint(0, len(encoded))]
        return encoded

    def _next(self, cursor: tuple[int, ...]):
        """The row after `cursor` in its column, or a way out of the walk the plan draws."""
        plan, rnd = self.plan, self.random
        assert plan is not None
        if rnd.random() < plan.off_path:
            how = rnd.choice(["backwards", "same", "outside", "end"])
            if how == "backwards":
                return (*cursor[:-1], max(0, cursor[-1] - 1)), self._value(cursor)
            if how == "same":
                return cursor, self._value(cursor)
            if how == "outside":
                return (*cursor[:-2], cursor[-2] + 1, 1), self._value(cursor)
            return cursor, rfc1905.endOfMibView
        if cursor in self.rows_given:  # a row: the next one in its column
            column, row = cursor[:-1], cursor[-1] + 1
        else:  # a column asked for the first time: its first row
            column, row = cursor, 1
        if row > plan.rows:
            return (*column[:-1], column[-1] + 1, 1), self._value(cursor)  # the next column: this one ended
        oid = (*column, row)
        self.rows_given.add(oid)
        return oid, self._value(oid)


class Poller:
    """One event loop in its own thread and one SNMP engine on it, for every example: an engine
    loads pysnmp's MIB modules when created, which would dwarf the poll being fuzzed."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-snmp-loop", daemon=True)
        self.thread.start()
        self.engine = asyncio.run_coroutine_threadsafe(self._engine(), self.loop).result(30)

    @staticmethod
    async def _engine() -> SnmpEngine:
        return SnmpEngine()

    def poll(self, port: int, profile: str, timeout_s: float) -> DeviceReading:
        async def run() -> DeviceReading:
            target = SnmpTarget("127.0.0.1", port, community="fuzz", timeout_s=timeout_s, retries=0)
            return await asyncio.wait_for(poll_device(SnmpSession(self.engine, target), profile), timeout=60)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(90)


PEERS: dict[str, object] = {}


def _device() -> RandomDevice:
    if "device" not in PEERS:
        PEERS["device"] = RandomDevice()
    return PEERS["device"]  # type: ignore[return-value]


def _poll(port: int, profile: str, timeout_s: float = TIMEOUT_S) -> DeviceReading:
    if "poller" not in PEERS:
        PEERS["poller"] = Poller()
    return PEERS["poller"].poll(port, profile, timeout_s)  # type: ignore[attr-defined]


@given(PLANS, st.lists(VALUES, min_size=1, max_size=12), st.sampled_from(["auto", *sorted(load_profiles())]))
@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_poll_of_a_random_device_ends_in_a_reading(plan: Plan, values: list, profile: str) -> None:
    device = _device()
    device.use(plan, values)
    try:
        reading = _poll(device.port, profile)
    except ProfileError as exc:  # documented: a forced profile that does not exist; the daemon reports it
        raise AssertionError(f"only an unknown profile name raises ProfileError: {exc}") from None
    event("reachable" if reading.reachable and not reading.error else f"error: {reading.error_kind}")
    assert not device.failures, device.failures
    assert reading.requests < 2000, reading.requests
    DeviceReading.model_validate_json(reading.model_dump_json())  # what `probe snmp --json` prints, read back
    findings = judge("fuzzed", reading, DeviceThresholds(), uplink="Gi1/0/1")
    assert findings and findings[0].check == "snmp.reachable"
    if not reading.reachable:
        assert reading.error, "an unreachable device says why"


def test_the_random_device_can_be_read_cleanly() -> None:
    """With no faults in the plan the poll succeeds: the property above is not vacuous."""
    device = _device()
    calm = Plan(1, 0, 0, 0, 0, 0, 0, rows=3, sys_object_id="1.3.6.1.4.1.9.1.1208")
    device.use(calm, [rfc1902.Integer32(1), rfc1902.OctetString(b"Gi1/0/1")])
    reading = _poll(device.port, "auto", timeout_s=3.0)  # a loaded machine must not make it time out
    assert reading.reachable and reading.error is None, reading.error
    assert reading.profile == "cisco-ios" and reading.interfaces


def test_text_that_is_no_finite_number_gives_no_health_figure() -> None:
    """Found by the poll fuzz: "1e999" or "nan" in a health column became an infinite or NaN figure,
    which `probe snmp --json` printed as null and could not read back."""
    from collectors.snmp.values import as_number

    assert [as_number(text) for text in ("1e999", "-inf", "nan", "NaN %")] == [None, None, None, None]
    assert as_number("44 %") == 44.0 and as_number(7) == 7.0 and as_number(10**400) is None
