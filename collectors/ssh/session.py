"""One SSH device: a netmiko session kept open between polls, reopened when it fails.

netmiko is blocking, so every call here runs in a worker thread (collectors/ssh/poll.py). Host keys are
checked against a known-hosts file: an unknown key is refused unless trust-on-first-use is on (then
it is written to the file), and a changed key is always refused. Each failure is an SshError whose
`kind` says which (auth, hostkey_changed, hostkey_unknown, timeout, connect, closed) so
the probe can say what to do about it.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import paramiko
from netmiko import ConnectHandler
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException, ReadException

from collectors.ssh.profile import profile_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SshTarget:
    name: str
    host: str
    port: int
    device_type: str
    username: str
    password: str | None = None
    key_file: Path | None = None
    known_hosts: Path | None = None
    trust_on_first_use: bool = False
    connect_timeout_s: float = 10.0
    command_timeout_s: float = 15.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class SshError(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def _chain(exc: BaseException) -> list[BaseException]:
    found, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


def classify(exc: BaseException, target: SshTarget) -> SshError:
    """A netmiko/paramiko failure as an SshError naming what went wrong, in one line."""
    chain = _chain(exc)
    if any(isinstance(e, paramiko.BadHostKeyException) for e in chain):
        where = target.known_hosts or "the known-hosts file"
        return SshError("hostkey_changed", f"{target.address} presented a different host key than {where} holds")
    text = " ".join(str(e) for e in chain)
    if "not found in known_hosts" in text:
        return SshError("hostkey_unknown", f"{target.address} is not in {target.known_hosts or 'known_hosts'}")
    if any(isinstance(e, NetmikoAuthenticationException | paramiko.AuthenticationException) for e in chain):
        return SshError("auth", f"login as {target.username!r} refused by {target.address}")
    if any(isinstance(e, ReadException) for e in chain) or "Pattern not detected" in text:
        return SshError("timeout", f"{target.address} stopped answering in the middle of a command")
    if "TCP connection to device failed" in text or any(isinstance(e, ConnectionRefusedError) for e in chain):
        return SshError("connect", f"no SSH service at {target.address}")
    if any(isinstance(e, EOFError | ConnectionResetError | BrokenPipeError) for e in chain) or "closed" in text.lower():
        return SshError("closed", f"{target.address} closed the connection")
    if isinstance(exc, NetmikoTimeoutException) or "timed out" in text.lower():
        return SshError("timeout", f"{target.address} did not answer within {target.connect_timeout_s:g} s")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return SshError("error", f"{target.address}: {first}")


class SshSession:
    """A kept-open session to one device; `run` is called from one worker thread at a time."""

    def __init__(self, target: SshTarget):
        self.target = target
        self._connection = None
        self._prompt = ""
        self._lock = threading.Lock()
        self.opened = 0

    def _connect(self):
        target = self.target
        known_hosts = target.known_hosts
        params = {
            "device_type": target.device_type,
            "host": target.host,
            "port": target.port,
            "username": target.username,
            "password": target.password or "",
            "use_keys": target.key_file is not None,
            "key_file": str(target.key_file) if target.key_file else None,
            "allow_agent": False,
            "ssh_strict": not target.trust_on_first_use,
            "system_host_keys": False,
            "alt_host_keys": known_hosts is not None,
            "alt_key_file": str(known_hosts) if known_hosts else "",
            "conn_timeout": target.connect_timeout_s,
            "auth_timeout": target.connect_timeout_s,
            "banner_timeout": target.connect_timeout_s,
            "timeout": target.command_timeout_s,
            "keepalive": 30,
            "fast_cli": True,
        }
        connection = ConnectHandler(**params)
        if profile_for(target.device_type).end_pattern is None:
            self._prompt = connection.find_prompt()  # e.g. <HUAWEI> or SW-CORE#
        if target.trust_on_first_use and known_hosts is not None:
            self._remember_host_key(connection)
        self.opened += 1
        return connection

    def _remember_host_key(self, connection) -> None:
        """Trust on first use: write the key just accepted to the known-hosts file."""
        client = connection.remote_conn_pre
        key = client.get_transport().get_remote_server_key()
        name = self.target.host if self.target.port == 22 else f"[{self.target.host}]:{self.target.port}"
        known = paramiko.HostKeys()
        path = self.target.known_hosts
        if path.is_file():
            known.load(str(path))
        if known.lookup(name) is None:
            known.add(name, key.get_name(), key)
            path.parent.mkdir(parents=True, exist_ok=True)
            known.save(str(path))
            log.warning("trusted the host key of %s on first use (%s)", name, key.get_name())

    def run(self, commands: list[str]) -> dict[str, str]:
        """Each command's output; opens the session if needed. Raises SshError (and closes) on failure."""
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = self._connect()
                outputs = {}
                for command in commands:
                    outputs[command] = self._send(command)
                return outputs
            except SshError:
                self._close_locked()
                raise
            except Exception as exc:  # netmiko/paramiko raise many kinds; all end this session
                dropped = self._connection is not None and not self._transport_alive()
                self._close_locked()
                if dropped:  # netmiko waits out its timeout on a dead channel; say what happened
                    raise SshError("closed", f"{self.target.address} closed the connection") from None
                raise classify(exc, self.target) from None

    def _transport_alive(self) -> bool:
        try:
            channel = self._connection.remote_conn
            return bool(channel.get_transport().is_active()) and not channel.closed and not channel.eof_received
        except Exception:  # any trouble reaching the transport means it is gone
            return False

    def _send(self, command: str) -> str:
        # The end of the output is given, not found: netmiko would otherwise probe for the prompt
        # before every command with its own loop of growing sleeps (about a minute against a
        # device that has gone silent). The prompt is read once, at login.
        kwargs: dict = {"read_timeout": self.target.command_timeout_s}
        end_pattern = profile_for(self.target.device_type).end_pattern
        if end_pattern is not None:  # the codec: its trailer says OK or ERROR; keep it for the parser
            kwargs["expect_string"] = end_pattern
            kwargs["strip_prompt"] = False
        else:
            kwargs["expect_string"] = re.escape(self._prompt)
        return self._connection.send_command(command, **kwargs)

    def _close_locked(self, graceful: bool = False) -> None:
        """Free the session. A broken one is torn down at once: netmiko's polite disconnect would
        first type `exit` into a device that has stopped answering and wait for it."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if graceful:
                connection.disconnect()
            else:
                connection.paramiko_cleanup()
        except Exception:  # the session is broken already; only its resources are left to free
            log.debug("closing the session to %s", self.target.address, exc_info=True)

    def close(self) -> None:
        with self._lock:
            self._close_locked(graceful=True)

    def abort(self) -> None:
        """From another thread: cut the transport, so a worker blocked on a silent device returns."""
        connection = self._connection
        if connection is not None:
            try:
                connection.remote_conn_pre.close()
            except Exception:  # already gone
                log.debug("aborting the session to %s", self.target.address, exc_info=True)

    def budget_s(self, commands: int) -> float:
        """The longest a whole poll may take: login, then each command (netmiko waits up to 10 s
        for a command's echo before its own read timeout starts)."""
        return self.target.connect_timeout_s * 3 + commands * (self.target.command_timeout_s + 10) + 5
