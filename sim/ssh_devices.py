"""Simulated SSH devices on loopback — a Cisco RoomOS codec and Huawei VRP, H3C Comware and Cisco IOS
switches — that behave as their vendors' do: banner, prompt, echo of what is typed, `\\r\\n` line
ends, paging until the session turns it off (`screen-length 0 temporary`, `screen-length disable`,
`terminal length 0`), the xAPI's `** end` / `OK` trailer, and each vendor's error for a command it
rejects. Faults a test can set: stall mid-output, drop the connection, reject a command, a new host
key on restart.

asyncssh serves it from its own thread and event loop, so tests and the demo can drive it from
plain code.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncssh

from collectors.ssh.xapi import render_status
from sim.ssh_vendor_output import (
    CodecState,
    GearState,
    Port,
    codec_tree,
    comware_cpu_usage,
    comware_interface_brief,
    huawei_cpu_usage,
    huawei_interface_brief,
    ios_interfaces_status,
    ios_processes_cpu,
)

PAGE_LINES = 24
EMPTY_WHEN_IDLE = ("call", "mediachannels")  # subtrees whose instances come and go with calls


@dataclass
class Faults:
    """Set by a test while the simulator runs; each applies to the next command received."""

    stall: bool = False  # print half of the answer, then nothing more (not to the session set-up commands)
    drop: bool = False  # close the connection instead of answering (idem)
    rejected: set[str] = field(default_factory=set)  # commands answered with the vendor's error


@dataclass
class Vendor:
    banner: str
    prompt: str
    pager: str | None  # the --More-- text; None = no paging (the codec)
    paging_off: tuple[str, ...]
    commands: dict[str, Callable[[], str]]
    error: Callable[[str], str]
    silent: tuple[str, ...] = ()  # accepted without output


def _caret_error(message: str, indent: int) -> Callable[[str], str]:
    return lambda command: " " * (indent + len(command) // 2) + "^\r\n" + message


class SshDeviceSimulator:
    """One device on 127.0.0.1:<port>; `kind` is cisco_tp, huawei, hp_comware or cisco_ios."""

    def __init__(self, kind: str, username: str = "admin", password: str = "venue-test", port: int = 0):
        self.kind = kind
        self.username, self.password = username, password
        self.port = port
        self.faults = Faults()
        self.codec = CodecState()
        self.gear = GearState(
            hostname={"huawei": "HUAWEI", "hp_comware": "H3C", "cisco_ios": "SW-CORE"}.get(kind, "codec"),
            ports=self._default_ports(kind),
        )
        self.commands_seen: list[str] = []
        self.sessions = 0
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncssh.SSHAcceptor | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @staticmethod
    def _default_ports(kind: str) -> list[Port]:
        names = {
            "huawei": ["GigabitEthernet0/0/1", "GigabitEthernet0/0/2", "GigabitEthernet0/0/24"],
            "hp_comware": ["GE1/0/1", "GE1/0/2", "GE1/0/24"],
            "cisco_ios": ["Gi1/0/1", "Gi1/0/2", "Gi1/0/24"],
        }.get(kind, [])
        descriptions = ["to-codec", "to-pc", "uplink-to-county"]
        return [Port(name, description=text) for name, text in zip(names, descriptions, strict=False)]

    # -- vendors --------------------------------------------------------------------------------
    def _vendor(self) -> Vendor:
        gear = self.gear
        if self.kind == "cisco_tp":
            return Vendor(
                banner=(
                    f"Welcome to {self.codec.system_name}\r\n{self._release_line()}"
                    "*r Login successful\r\n\r\nOK\r\n\r\n"
                ),
                prompt="",
                pager=None,
                paging_off=(),
                commands={},
                error=lambda _command: "Command not recognized.\r\n",
            )
        if self.kind == "huawei":
            return Vendor(
                banner=(
                    "\r\nInfo: The max number of VTY users is 5, and the number\r\n"
                    "      of current VTY users on line is 1.\r\n"
                    "      The current login time is 2026-11-25 15:00:00+08:00.\r\n"
                ),
                prompt=f"<{gear.hostname}>",
                pager="  ---- More ----",
                paging_off=("screen-length 0 temporary",),
                commands={
                    "display interface brief": lambda: huawei_interface_brief(gear),
                    "display cpu-usage": lambda: huawei_cpu_usage(gear),
                },
                error=_caret_error("Error: Unrecognized command found at '^' position.\r\n", len(gear.hostname) + 2),
            )
        if self.kind == "hp_comware":
            return Vendor(
                banner=(
                    "\r\n" + "*" * 78 + "\r\n* Copyright (c) 2004-2021 New H3C Technologies Co., Ltd. "
                    "All rights reserved.*\r\n* Without the owner's prior written consent,"
                    + " " * 33
                    + "*\r\n* no decompiling or reverse-engineering shall be allowed."
                    + " " * 20
                    + "*\r\n"
                    + "*" * 78
                    + "\r\n\r\n"
                ),
                prompt=f"<{gear.hostname}>",
                pager="---- More ----",
                paging_off=("screen-length disable",),
                commands={
                    "display interface brief": lambda: comware_interface_brief(gear),
                    "display cpu-usage": lambda: comware_cpu_usage(gear),
                },
                error=_caret_error(" % Unrecognized command found at '^' position.\r\n", len(gear.hostname) + 2),
            )
        if self.kind == "cisco_ios":
            return Vendor(
                banner="\r\n",
                prompt=f"{gear.hostname}#",
                pager=" --More-- ",
                paging_off=("terminal length 0",),
                silent=("terminal width 511",),
                commands={
                    "show interfaces status": lambda: ios_interfaces_status(gear),
                    "show processes cpu": lambda: ios_processes_cpu(gear),
                },
                error=_caret_error("% Invalid input detected at '^' marker.\r\n\r\n", len(gear.hostname) + 1),
            )
        raise ValueError(f"unknown simulated device kind {self.kind!r}")

    def _release_line(self) -> str:
        """The banner's release lines: RoomOS's as before; a TC codec's names its TC version."""
        if self.codec.software.lower().startswith("tc"):
            return f"Cisco Codec Release {self.codec.software}\r\n"
        return "Cisco Codec Release ce 9.15.3 stable\r\nSW Release Date: 2022-09-14\r\n"

    def _codec_answer(self, command: str) -> str:
        words = command.split()
        if not words or words[0].lower() != "xstatus":
            return "Command not recognized.\r\n"
        node, path = codec_tree(self.codec), []
        if (
            len(words) == 2
            and words[1].lower() in EMPTY_WHEN_IDLE
            and not any(str(k).lower() == words[1].lower() for k in node)
        ):
            return "** end\r\n\r\nOK\r\n"  # no call: an empty status, not an error
        for word in words[1:]:
            key = next((k for k in node if str(k).lower() == word.lower()), None) if isinstance(node, dict) else None
            if key is None:
                return (
                    '*r Status (status=Error): \r\n    Reason: "No match on address expression."\r\n'
                    f'    XPath: "Status/{"/".join(words[1:])}"\r\n** end\r\n\r\nERROR\r\n'
                )
            node, path = node[key], [*path, key]
        body = render_status({path[-1]: node} if path else node, tuple(path[:-1]))
        return "\r\n".join([*body, "** end", "", "OK", ""])

    # -- the SSH server -------------------------------------------------------------------------
    def start(self) -> SshDeviceSimulator:
        self._thread = threading.Thread(target=self._run, name=f"ssh-sim {self.kind}", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError("the SSH simulator did not start")
        return self

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._listen())
        self._ready.set()
        self._loop.run_forever()
        leftover = asyncio.all_tasks(self._loop)
        for task in leftover:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    async def _listen(self) -> None:
        simulator = self

        class Server(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                return username == simulator.username and password == simulator.password

        self._server = await asyncssh.create_server(
            Server,
            "127.0.0.1",
            self.port,
            server_host_keys=[self.host_key],
            process_factory=self._session,
            line_editor=False,
            encoding="utf-8",
            keepalive_interval=0,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _session(self, process: asyncssh.SSHServerProcess) -> None:
        self.sessions += 1
        vendor = self._vendor()
        paging = vendor.pager is not None
        process.stdout.write(vendor.banner + vendor.prompt)
        try:
            while True:
                line = await self._read_line(process)
                if line is None:
                    break
                command = " ".join(line.split())
                self.commands_seen.append(command)
                if command.lower() in ("exit", "quit", "bye", "logout"):
                    break
                data_command = command not in vendor.paging_off + vendor.silent and bool(command)
                if self.faults.drop and data_command:
                    process.channel.get_extra_info("connection").abort()
                    return
                answer = self._answer(vendor, command)
                if command in vendor.paging_off:
                    paging = False
                if self.faults.stall and answer and data_command:
                    process.stdout.write(answer[: len(answer) // 2])
                    while await process.stdin.read(1024):  # never answers again; swallows input until hung up
                        pass
                    break
                if paging and answer.count("\r\n") > PAGE_LINES:
                    if not await self._page(process, vendor, answer):
                        process.stdout.write("\r\n" + vendor.prompt)
                        continue
                else:
                    process.stdout.write(answer)
                process.stdout.write(vendor.prompt)
        except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged, BrokenPipeError, ConnectionError):
            pass
        process.exit(0)

    def _answer(self, vendor: Vendor, command: str) -> str:
        if not command:
            return ""
        if command in self.faults.rejected:
            return vendor.error(command)
        if self.kind == "cisco_tp":
            return self._codec_answer(command)
        if command in vendor.paging_off or command in vendor.silent:
            info = "Info: The configuration takes effect on the current user terminal interface only.\r\n"
            return info if self.kind == "huawei" else ""
        produce = vendor.commands.get(command)
        return produce() + "\r\n" if produce else vendor.error(command)

    async def _read_line(self, process: asyncssh.SSHServerProcess) -> str | None:
        """Characters until CR or LF, then echoed (a CR LF pair ends one line, not two).

        The echo goes out per line rather than per key: the client sees the same bytes, and a
        client that types `quit` and hangs up at once does not make us write into a closed socket
        once per character."""
        typed = []
        while True:
            char = await process.stdin.read(1)
            if not char:
                return None
            if char == "\n" and getattr(process, "_after_cr", False):
                process._after_cr = False  # type: ignore[attr-defined]
                continue
            process._after_cr = char == "\r"  # type: ignore[attr-defined]
            if char in "\r\n":
                line = "".join(typed)
                if not process.is_closing():
                    process.stdout.write(line + "\r\n")
                return line
            if char in "\x08\x7f":
                if typed:
                    typed.pop()
                continue
            typed.append(char)

    async def _page(self, process: asyncssh.SSHServerProcess, vendor: Vendor, answer: str) -> bool:
        """Print a page at a time; space for more, anything else stops. False when stopped."""
        lines = answer.split("\r\n")
        for start in range(0, len(lines), PAGE_LINES):
            process.stdout.write("\r\n".join(lines[start : start + PAGE_LINES]))
            if start + PAGE_LINES >= len(lines):
                return True
            process.stdout.write("\r\n" + (vendor.pager or ""))
            key = await process.stdin.read(1)
            process.stdout.write("\r" + " " * len(vendor.pager or "") + "\r")
            if key != " ":
                return False
        return True

    def new_host_key(self) -> None:
        """The device was replaced (or is an impostor): a different key from the next connection."""
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        if self._loop is not None and self._server is not None:
            asyncio.run_coroutine_threadsafe(self._restart(), self._loop).result(10)

    async def _restart(self) -> None:
        self._server.close()
        await self._server.wait_closed()
        await self._listen()

    def known_hosts_line(self) -> str:
        """The line an OpenSSH known_hosts file holds for this device."""
        key = self.host_key.export_public_key("openssh").decode().strip()
        return f"[127.0.0.1]:{self.port} {key}\n"

    def stop(self) -> None:
        if self._loop is None:
            return

        async def close() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:  # sessions still open (a stalled one waits forever)
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._loop = None

    def __enter__(self) -> SshDeviceSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
