"""The one uplink judgement, over SNMP and SSH alike: the named port must be administratively and
operationally up (Art. 13: the private-network line is the venue's lifeline).

Each transport names ports its own way (SNMP: ifName, ifIndex or ifAlias; SSH: the CLI's name or
description) and words the finding in its own catalog; which port is meant and what its state means
is decided here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

from contract.findings import Verdict


class Port(Protocol):
    name: str
    admin_status: str
    oper_status: str


P = TypeVar("P", bound=Port)
OUTCOME_VERDICT = {"ok": Verdict.OK, "down": Verdict.FAIL, "missing": Verdict.UNKNOWN}


@dataclass(frozen=True)
class UplinkState(Generic[P]):
    outcome: Literal["ok", "down", "missing"]
    port: P | None  # None when no port answers to the configured name

    @property
    def verdict(self) -> Verdict:
        return OUTCOME_VERDICT[self.outcome]


def uplink_state(ports: Iterable[P], uplink: str, names: Callable[[P], Iterable[str | None]]) -> UplinkState[P]:
    """The first port that `names` the configured uplink, and whether it is up."""
    port = next((p for p in ports if uplink in names(p)), None)
    if port is None:
        return UplinkState("missing", None)
    return UplinkState("ok" if port.admin_status == "up" and port.oper_status == "up" else "down", port)
