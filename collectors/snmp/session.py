"""One SNMP engine for the whole agent, and per-device sessions that GET scalars and walk columns.

pysnmp 7's asyncio API (`pysnmp.hlapi.v3arch.asyncio`) with `lookupMib=False`: no MIB files are
loaded at run time, OIDs are numbers, which keeps a poll cheap. Columns of one table are walked
together with GETBULK (one request carries every unfinished column), each stopping at the end of
its own subtree, so a walk never wanders into the next table.

Whatever a device sends back — nothing, garbage, or the same answer many times over — is an
`SnmpError` or a reading, never another exception: pysnmp's own errors are turned into
`SnmpError("transport", …)`, and `close_engine` closes an engine without tripping over copies of
an answer still in flight.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as usm
from pysnmp.proto import rfc1905

from collectors.snmp.values import Value, to_python

Oid = tuple[int, ...]

AUTH_PROTOCOLS = {
    "sha": usm.USM_AUTH_HMAC96_SHA,
    "sha1": usm.USM_AUTH_HMAC96_SHA,
    "sha224": usm.USM_AUTH_HMAC128_SHA224,
    "sha256": usm.USM_AUTH_HMAC192_SHA256,
    "sha384": usm.USM_AUTH_HMAC256_SHA384,
    "sha512": usm.USM_AUTH_HMAC384_SHA512,
    "md5": usm.USM_AUTH_HMAC96_MD5,
}
PRIV_PROTOCOLS = {
    "aes": usm.USM_PRIV_CFB128_AES,
    "aes128": usm.USM_PRIV_CFB128_AES,
    "aes192": usm.USM_PRIV_CFB192_AES,
    "aes256": usm.USM_PRIV_CFB256_AES,
    "des": usm.USM_PRIV_CBC56_DES,
}


# Loop turns given to datagrams already read when an engine closes: each turn hands over one per socket.
DRAIN_TURNS = 8


async def close_engine(engine: SnmpEngine) -> None:
    """Close an engine so that no late datagram meets a closed dispatcher.

    A device (or a path) that answers each request more than once leaves copies in flight. pysnmp
    hands every datagram it reads to its dispatcher with `call_soon`; one handed over after
    `close_dispatcher` raises CarrierError ("Unregistered transport") inside the event loop, which
    asyncio prints as a traceback. So the sockets stop reading first, the datagrams already read
    are let through while the dispatcher still knows their transport (a stray answer is dropped
    quietly), and only then is the dispatcher closed."""
    dispatcher = engine.transport_dispatcher
    if dispatcher is None:
        return
    for domain in (udp.DOMAIN_NAME, udp6.DOMAIN_NAME):
        try:
            carrier = dispatcher.get_transport(domain)
        except PySnmpError:  # that domain was never opened
            continue
        socket_transport = getattr(carrier, "transport", None)
        if socket_transport is not None:
            socket_transport.close()
    for _ in range(DRAIN_TURNS):
        await asyncio.sleep(0)
    engine.close_dispatcher()


def parse_oid(text: str) -> Oid:
    return tuple(int(part) for part in text.strip().strip(".").split("."))


MAX_WALK_ROWS = 10_000  # rows of one column in one walk; a chassis switch has a few thousand ports at most


class SnmpError(Exception):
    """The device did not answer usefully; `kind` is timeout, auth, error-status or transport."""

    def __init__(self, kind: str, detail: str):
        self.kind = kind
        self.detail = detail
        super().__init__(f"{kind}: {detail}")


@dataclass(frozen=True)
class SnmpTarget:
    """How to reach one device. Secrets are resolved by the caller before they get here."""

    host: str
    port: int = 161
    version: Literal["1", "2c", "3"] = "2c"
    community: str = "public"
    user: str | None = None
    auth_protocol: str | None = None
    auth_key: str | None = field(default=None, repr=False)
    priv_protocol: str | None = None
    priv_key: str | None = field(default=None, repr=False)
    timeout_s: float = 2.0
    retries: int = 1
    max_repetitions: int = 50  # varbinds per GETBULK response, shared by the columns walked together

    def auth_data(self) -> CommunityData | UsmUserData:
        if self.version in ("1", "2c"):
            return CommunityData(self.community, mpModel=0 if self.version == "1" else 1)
        if not self.user:
            raise ValueError("SNMPv3 needs a user")
        auth = AUTH_PROTOCOLS[self.auth_protocol] if self.auth_protocol else usm.USM_AUTH_NONE
        priv = PRIV_PROTOCOLS[self.priv_protocol] if self.priv_protocol else usm.USM_PRIV_NONE
        return UsmUserData(
            self.user, authKey=self.auth_key, privKey=self.priv_key, authProtocol=auth, privProtocol=priv
        )


class SnmpSession:
    """GET and column walks against one target, on the shared engine."""

    def __init__(self, engine: SnmpEngine, target: SnmpTarget):
        self.engine = engine
        self.target = target
        self._transport: UdpTransportTarget | None = None
        self._auth = target.auth_data()
        self.requests = 0

    async def _transport_target(self) -> UdpTransportTarget:
        if self._transport is None:
            try:
                self._transport = await UdpTransportTarget.create(
                    (self.target.host, self.target.port), timeout=self.target.timeout_s, retries=self.target.retries
                )
            except Exception as exc:  # name resolution and socket errors
                raise SnmpError("transport", f"cannot reach {self.target.host}:{self.target.port}: {exc}") from None
        return self._transport

    async def _ask(self, command, transport: UdpTransportTarget, *args: object, what: str) -> tuple:
        """One pysnmp request; pysnmp's own exceptions (what a hostile answer can provoke) become SnmpError."""
        try:
            return await command(self.engine, self._auth, transport, ContextData(), *args, lookupMib=False)
        except PySnmpError as exc:
            raise SnmpError("transport", f"{what}: {exc}") from None

    @staticmethod
    def _check(error_indication: object, error_status: object, error_index: object, what: str) -> None:
        if error_indication:
            text = str(error_indication)
            lowered = text.lower()
            if "timeout" in lowered:
                kind = "timeout"
            elif any(word in lowered for word in ("digest", "usm", "authentic", "decrypt", "unknown user")):
                kind = "auth"
            else:
                kind = "transport"
            raise SnmpError(kind, text)
        if error_status and int(error_status):
            raise SnmpError("error-status", f"{error_status.prettyPrint()} at {what} (index {error_index})")

    async def get(self, oids: list[Oid]) -> dict[Oid, Value]:
        """GET scalars (at most 20 per request); an absent object reads None."""
        transport = await self._transport_target()
        result: dict[Oid, Value] = {}
        for start in range(0, len(oids), 20):
            chunk = oids[start : start + 20]
            self.requests += 1
            ei, es, ix, binds = await self._ask(
                get_cmd, transport, *(ObjectType(ObjectIdentity(oid)) for oid in chunk), what="GET"
            )
            if es and int(es) == 2 and self.target.version == "1":  # v1 noSuchName: one by one
                for oid in chunk:
                    result.update(await self._get_one_v1(oid))
                continue
            self._check(ei, es, ix, "GET")
            for name, value in binds:
                result[tuple(name)] = to_python(value)
        return result

    async def _get_one_v1(self, oid: Oid) -> dict[Oid, Value]:
        transport = await self._transport_target()
        self.requests += 1
        ei, es, ix, binds = await self._ask(get_cmd, transport, ObjectType(ObjectIdentity(oid)), what="GET")
        if es and int(es) == 2:
            return {oid: None}
        self._check(ei, es, ix, "GET")
        return {tuple(name): to_python(value) for name, value in binds}

    async def walk(self, columns: list[Oid]) -> dict[Oid, dict[Oid, Value]]:
        """Walk columns together; returns column → {index suffix → value}. Stops at each subtree's end."""
        transport = await self._transport_target()
        found: dict[Oid, dict[Oid, Value]] = {column: {} for column in columns}
        cursor = {column: column for column in columns}
        active = list(dict.fromkeys(columns))
        while active:
            self.requests += 1
            if self.target.version == "1":
                ei, es, ix, binds = await self._ask(
                    next_cmd, transport, *(ObjectType(ObjectIdentity(cursor[c])) for c in active), what="GETNEXT"
                )
                if es and int(es) == 2:  # v1 end of view
                    return found
                rows = [binds]
            else:
                # Share the budget between the columns, but never ask for more than 12 rows at once:
                # past a table's end every extra row is decoded for nothing (pyasn1 decoding is the cost).
                repetitions = max(1, min(12, self.target.max_repetitions // len(active)))
                ei, es, ix, binds = await self._ask(
                    bulk_cmd,
                    transport,
                    0,
                    repetitions,
                    *(ObjectType(ObjectIdentity(cursor[c])) for c in active),
                    what="GETBULK",
                )
                rows = [binds[i : i + len(active)] for i in range(0, len(binds), len(active))]
            self._check(ei, es, ix, "GETBULK")
            finished: set[Oid] = set()
            for row in rows:
                for column, (name, value) in zip(active, row, strict=False):
                    if column in finished:
                        continue
                    oid = tuple(name)
                    if isinstance(value, rfc1905.EndOfMibView) or oid[: len(column)] != column:
                        finished.add(column)
                        continue
                    if oid <= cursor[column]:  # a device answering non-increasing OIDs would loop forever
                        finished.add(column)
                        continue
                    found[column][oid[len(column) :]] = to_python(value)
                    cursor[column] = oid
                    if len(found[column]) > MAX_WALK_ROWS:
                        raise SnmpError(
                            "error-status",
                            f"the table under {'.'.join(map(str, column))} does not end "
                            f"(more than {MAX_WALK_ROWS} rows): the device's agent is broken",
                        )
            if not binds:
                break
            active = [c for c in active if c not in finished]
        return found
