"""SNMP trap and inform receiver: notifications from codecs and switches, as typed records, at once.

Polling finds a fault at the next poll; a device that sends a trap says so the moment it happens.
This receiver listens on one UDP port (pysnmp 7, asyncio, on the agent's own event loop), accepts
SNMPv2c traps and informs from the configured communities and SNMPv3 ones from the configured USM
users — the same user definitions polling uses — answers every inform (that is what makes it an
inform: the sender retries until acknowledged), and hands each notification to a callback as a
TrapRecord (who sent it, the trap OID and its name from the trap maps, the varbinds, when) in the
same loop turn that read the datagram.

SNMPv3 traps (unacknowledged) are authenticated with the sender's engine ID as the key's
localisation (RFC 3414), so a user who sends traps needs the sending device's engine ID
(`engine_ids`); informs are localised to this receiver's own engine ID, which the sender discovers.

Whatever arrives that is not a notification we accept — garbage, a wrong community, an unknown user,
a wrong key — is counted by kind (`stats`) and logged at most once per `log_interval_s` per kind,
never raised: a scanner on the LAN must not fill the log or stop the receiver.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto import rfc1902, rfc1905

from collectors.snmp.session import AUTH_PROTOCOLS, PRIV_PROTOCOLS, Oid, close_engine
from collectors.snmp.trap_map import TrapEvent, TrapVerdict, interpret
from collectors.snmp.values import Value, to_python

log = logging.getLogger(__name__)

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)

# pysnmp's own counters of what it refused, by the MIB that defines each (RFC 3418, RFC 3414).
REJECTION_COUNTERS = {
    "malformed": ("__SNMPv2-MIB", "snmpInASNParseErrs"),
    "bad_community": ("__SNMPv2-MIB", "snmpInBadCommunityNames"),
    # a v3 inform's sender first asks for our engine ID (RFC 3414 discovery): counted, not a fault
    "discovery": ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownEngineIDs"),
    "unknown_user": ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownUserNames"),
    "wrong_digest": ("__SNMP-USER-BASED-SM-MIB", "usmStatsWrongDigests"),
    "decryption_error": ("__SNMP-USER-BASED-SM-MIB", "usmStatsDecryptionErrors"),
    "unsupported_security_level": ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnsupportedSecLevels"),
    "not_in_time_window": ("__SNMP-USER-BASED-SM-MIB", "usmStatsNotInTimeWindows"),
}


@dataclass(frozen=True)
class TrapUser:
    """One SNMPv3 user allowed to send notifications: the polling config's user, keys and
    protocols (names as in `[snmp.devices.v3]`), and the engine IDs of the devices that send it
    traps (hex, with or without 0x; not needed for informs)."""

    user: str
    auth_protocol: str | None = None
    auth_key: str | None = field(default=None, repr=False)
    priv_protocol: str | None = None
    priv_key: str | None = field(default=None, repr=False)
    engine_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrapConfig:
    host: str = "0.0.0.0"
    port: int = 162  # 0: any free port (tests); `TrapReceiver.port` says which
    communities: tuple[str, ...] = ()  # SNMPv1/v2c communities accepted
    users: tuple[TrapUser, ...] = ()  # SNMPv3 users accepted
    log_interval_s: float = 60.0  # at most one log line per kind of refusal in this time
    engine_id: str | None = None  # this receiver's SNMPv3 engine ID (hex); None: pysnmp makes one


@dataclass(frozen=True)
class TrapRecord:
    """One notification received. `device` is the sender's address (the daemon maps it to a
    configured device); `fields` are the varbinds the trap map names (ifIndex, ifDescr…)."""

    device: str
    port: int
    kind: str  # "trap" or "inform"
    version: str  # "1", "2c" or "3"
    security_name: str  # the v3 user; for v1/v2c the community's index, never the community itself
    trap_oid: str
    name: str
    mib: str | None
    event: TrapEvent
    fields: dict[str, Value]
    varbinds: dict[str, Value]
    uptime_ticks: int | None
    received_at: datetime
    verdict: TrapVerdict | None = None  # what the trap map says of this notification (a clear, a fatal alarm)


OnTrap = Callable[[TrapRecord], Awaitable[None] | None]


def _engine_id(text: str) -> rfc1902.OctetString:
    cleaned = text.lower().removeprefix("0x").replace(":", "")
    return rfc1902.OctetString(hexValue=cleaned)


class _Limited:
    """At most one log line per kind per interval, with the number left unsaid since."""

    def __init__(self, interval_s: float):
        self.interval_s = interval_s
        self.last: dict[str, float] = {}
        self.quiet: dict[str, int] = {}

    def warn(self, kind: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.last.get(kind, -self.interval_s) < self.interval_s:
            self.quiet[kind] = self.quiet.get(kind, 0) + 1
            return
        skipped = self.quiet.pop(kind, 0)
        self.last[kind] = now
        suffix = f" ({skipped} more since the last report)" if skipped else ""
        log.warning(message + suffix, *args)


class TrapReceiver:
    """`async with TrapReceiver(config, on_trap=callback) as receiver:` — or `await start()` and
    `await stop()`. The callback gets each TrapRecord; a coroutine function is run as a task."""

    def __init__(self, trap_config: TrapConfig, on_trap: OnTrap):
        self.config = trap_config
        self.on_trap = on_trap
        self.stats: dict[str, int] = {"datagrams": 0, "traps": 0, "informs": 0, "callback_errors": 0}
        self._engine: engine.SnmpEngine | None = None
        self._receiver: ntfrcv.NotificationReceiver | None = None
        self._socket: socket.socket | None = None
        self._tasks: set[asyncio.Task] = set()
        self._limited = _Limited(trap_config.log_interval_s)
        self._counted: dict[str, int] = {}

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind the port (an OSError names it when it is taken or not ours to bind) and listen."""
        snmp_engine = (
            engine.SnmpEngine(snmpEngineID=_engine_id(self.config.engine_id))
            if self.config.engine_id
            else engine.SnmpEngine()
        )
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._socket.bind((self.config.host, self.config.port))
        except OSError as exc:
            self._socket.close()
            raise OSError(
                exc.errno, f"SNMP traps: cannot listen on {self.config.host}:{self.config.port}: {exc.strerror}"
            ) from None
        self._socket.setblocking(False)
        carrier = udp.UdpTransport().open_server_mode(sock=self._socket)
        config.add_transport(snmp_engine, udp.DOMAIN_NAME, carrier)
        for number, community in enumerate(self.config.communities, start=1):
            config.add_v1_system(snmp_engine, f"community-{number}", community)
        for user in self.config.users:
            self._add_user(snmp_engine, user)
        self._receiver = ntfrcv.NotificationReceiver(snmp_engine, self._notified)
        dispatcher = snmp_engine.transport_dispatcher
        dispatcher.register_routing_callback(lambda *_: "venue-traps")
        dispatcher.register_recv_callback(self._datagram, "venue-traps")
        self._engine = snmp_engine
        self._counted = self._rejections()
        for _ in range(100):  # until asyncio has made the endpoint (a few loop turns)
            if getattr(carrier, "transport", None) is not None:
                break
            await asyncio.sleep(0.01)

    @staticmethod
    def _add_user(snmp_engine: engine.SnmpEngine, user: TrapUser) -> None:
        auth = AUTH_PROTOCOLS[user.auth_protocol] if user.auth_protocol else config.USM_AUTH_NONE
        priv = PRIV_PROTOCOLS[user.priv_protocol] if user.priv_protocol else config.USM_PRIV_NONE
        keys = {"authKey": user.auth_key, "privKey": user.priv_key}
        config.add_v3_user(snmp_engine, user.user, auth, privProtocol=priv, **keys)  # informs: our engine ID
        for engine_id in user.engine_ids:  # traps: keys localised to each sender's engine ID
            config.add_v3_user(
                snmp_engine, user.user, auth, privProtocol=priv, securityEngineId=_engine_id(engine_id), **keys
            )

    async def stop(self) -> None:
        if self._engine is None:
            return
        snmp_engine, self._engine = self._engine, None
        if self._receiver is not None:
            self._receiver.close(snmp_engine)
        with contextlib.suppress(Exception):
            snmp_engine.transport_dispatcher.unregister_recv_callback("venue-traps")
            snmp_engine.transport_dispatcher.unregister_routing_callback()
        await close_engine(snmp_engine)
        if self._socket is not None:
            self._socket.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> TrapReceiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The UDP port listened on (the one chosen when the config said 0)."""
        return self._socket.getsockname()[1] if self._socket is not None else self.config.port

    @property
    def engine_id(self) -> str | None:
        """This receiver's SNMPv3 engine ID as hex (what a device sending informs will discover)."""
        if self._engine is None:
            return None
        return "0x" + bytes(self._engine.snmpEngineID).hex()

    # -- receiving -------------------------------------------------------------------------------
    def _rejections(self) -> dict[str, int]:
        builder = self._engine.get_mib_builder() if self._engine is not None else None
        counts = {}
        for kind, (module, name) in REJECTION_COUNTERS.items():
            try:
                (counter,) = builder.import_symbols(module, name)
                counts[kind] = int(counter.syntax)
            except Exception:  # a counter this pysnmp does not keep
                counts[kind] = 0
        return counts

    def _datagram(self, dispatcher, domain, address, message) -> None:
        """Every datagram passes here: pysnmp processes it, then whatever it refused is counted."""
        self.stats["datagrams"] += 1
        snmp_engine = self._engine
        if snmp_engine is None:
            return
        try:
            snmp_engine.message_dispatcher.receive_message(snmp_engine, domain, address, message)
        except Exception as exc:  # pysnmp raising on hostile input must not stop the receiver
            self.stats["malformed"] = self.stats.get("malformed", 0) + 1
            self._limited.warn("malformed", "SNMP traps: a datagram from %s could not be read: %s", address[0], exc)
        now = self._rejections()
        for kind, count in now.items():
            if count > self._counted.get(kind, 0):
                self.stats[kind] = self.stats.get(kind, 0) + count - self._counted.get(kind, 0)
                if kind != "discovery":
                    self._limited.warn(
                        kind, "SNMP traps: refused a datagram from %s (%s)", address[0], kind.replace("_", " ")
                    )
        self._counted = now

    def _notified(self, snmp_engine, state_reference, context_engine_id, context_name, var_binds, cb_ctx) -> None:
        context = snmp_engine.observer.get_execution_context("rfc3412.receiveMessage:request")
        address = context["transportAddress"]
        pdu = context.get("pdu")
        is_inform = isinstance(pdu, rfc1905.InformRequestPDU)
        varbinds: dict[Oid, Value] = {tuple(oid): to_python(value) for oid, value in var_binds}
        trap_oid = varbinds.get(SNMP_TRAP_OID)
        oid = tuple(int(p) for p in trap_oid.split(".")) if isinstance(trap_oid, str) else ()
        mapped = interpret(oid, varbinds)
        uptime = varbinds.get(SYS_UPTIME)
        version = {1: "1", 2: "2c", 3: "3"}.get(int(context.get("securityModel", 0)), "?")
        record = TrapRecord(
            device=str(address[0]),
            port=int(address[1]),
            kind="inform" if is_inform else "trap",
            version=version,
            security_name=str(context.get("securityName", "")),
            trap_oid=".".join(map(str, oid)),
            name=mapped.name,
            mib=mapped.mib,
            event=mapped.event,
            verdict=mapped.verdict,
            fields=mapped.fields,
            varbinds={".".join(map(str, k)): v for k, v in varbinds.items() if k not in (SYS_UPTIME, SNMP_TRAP_OID)},
            uptime_ticks=uptime if isinstance(uptime, int) else None,
            received_at=datetime.now(UTC),
        )
        self.stats["informs" if is_inform else "traps"] += 1
        if mapped.event == "unknown":
            self.stats["unknown_trap"] = self.stats.get("unknown_trap", 0) + 1
        self._deliver(record)

    def _deliver(self, record: TrapRecord) -> None:
        try:
            result = self.on_trap(record)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._finished)
        except Exception:
            self.stats["callback_errors"] += 1
            log.exception("SNMP traps: the callback failed on %s from %s", record.name, record.device)

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.stats["callback_errors"] += 1
            log.error("SNMP traps: the callback failed: %s", task.exception())


def communities_of(values: Iterable[str]) -> tuple[str, ...]:
    """The distinct communities in the order given (polling configs repeat them per device)."""
    return tuple(dict.fromkeys(v for v in values if v))


__all__ = ["TrapConfig", "TrapReceiver", "TrapRecord", "TrapUser", "communities_of"]
