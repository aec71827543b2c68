"""`venue-agent config check [--service]`: is this config one the agent — and the service — can run?

Without `--service` the file is validated and the secrets are resolved from this shell's
environment (the broker's is an error, a device's a warning, since a shell rarely has the unit's
environment file loaded).

With `--service` the check is made as systemd would start the unit (systemd/venue-agent.service,
docs/service.md), in two parts, because the start has two:

1. As root, the service manager's part: the environment file is parsed with systemd's own
   EnvironmentFile= rules, and every file of the credential source directory is copied, the way
   LoadCredential= does, into a private `$CREDENTIALS_DIRECTORY` owned by the service user.
2. As the service user — the process is re-executed through `setpriv` with the user's uid, gid and
   supplementary groups and no capabilities, so that the kernel itself answers every permission
   question — the config is loaded, every secret resolved (broker, each SNMP/SSH device, the trap
   communities) and every file the config names opened: TLS CA/cert/key, known_hosts, SSH keys,
   the .ics file, capture and sound devices, and the state directory written to.

Each failure is one line naming its config field. What it cannot imitate — the unit's device
cgroup (DeviceAllow=) and the mount namespace — is written out as rules instead (the state
directory must be the StateDirectory=, the only writable place under ProtectSystem=strict).

Exit codes as the rest of `config check`: 0 OK, 2 something the service could not read or use
(the service would fail or run blind), 3 the check itself could not be made (not root, no setpriv).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from agent.config import ConfigError, Settings, load_config
from agent.config.secrets import SecretError, resolve_password, resolve_password_fields
from agent.devices.snmp_credentials import credentials_of
from contract.catalog import Catalog
from contract.schedule_ics import IcsError, read_ics
from contract.secrets import CREDENTIAL_SOURCE_VARIABLE, CREDENTIALS_VARIABLE, credential_source_dir

CONFIG_ERROR_EXIT = 2  # as `_load_or_exit` and the unit's RestartPreventExitStatus=
CANNOT_CHECK_EXIT = 3  # UNKNOWN, as agent/cli/usage.py

SERVICE_USER = "venue-agent"
ENV_FILE = Path("/etc/venue-agent/venue-agent.env")
STATE_DIRECTORY = Path("/var/lib/venue-agent")  # StateDirectory=venue-agent: the unit's only writable place
CREDENTIAL_ID = "venue-agent"  # LoadCredential=venue-agent:<dir> names each file venue-agent_<file>
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # PID 1's default for services
INNER_TIMEOUT_S = 120.0

SERVICE_MESSAGES = Catalog(
    {
        "cli.service.unreadable": ("服务用户 {user} 无法读取 {path}", "{user} cannot read {path}: {reason}"),
        "cli.service.unwritable": ("服务用户 {user} 无法写入 {path}", "{user} cannot write to {path}: {reason}"),
        "cli.service.secret": ("服务取不到此密钥", "{detail}"),
        "cli.service.device": (
            "服务用户 {user} 无法打开设备 {path}",
            "{user} cannot open {path}: {reason} (needs group {group})",
        ),
        "cli.service.device_missing": (
            "设备 {path} 不存在（采集卡/声卡未接？）",
            "{path} does not exist (capture card or sound input not plugged in?)",
        ),
        "cli.service.outside_state": (
            "{path} 不在服务唯一可写的 {allowed} 之下",
            "{path} is not under {allowed}, the only directory the unit lets the service write (ProtectSystem=strict)",
        ),
        "cli.service.state_later": (
            "{path} 将在服务启动时由 systemd 创建或改为服务用户所有",
            "{path}: {reason}; StateDirectory= creates it or gives it to {user} when the service starts",
        ),
        "cli.service.tofu_read_only": (
            "{path} 在服务中只读，无法记录新的主机密钥",
            "{path} is read-only to the service (ProtectSystem=strict): trust_on_first_use cannot record keys "
            "there; leave known_hosts unset to record them in the state directory",
        ),
        "cli.service.no_known_hosts": (
            "还没有 known_hosts 文件 {path}：在记录主机密钥前，所有 SSH 设备都将被拒绝",
            "no known_hosts file {path} yet: every SSH device is refused until its host key is recorded "
            "(docs/install.md)",
        ),
        "cli.service.env_missing": (
            "没有环境文件 {path}：配置中的 *_env 变量都不会设置",
            "no environment file {path}: no *_env variable of the config is set",
        ),
        "cli.service.env_unreadable": ("无法读取环境文件 {path}", "cannot read the environment file {path}: {reason}"),
        "cli.service.env_ignored": (
            "systemd 会忽略环境文件 {path} 第 {line} 行",
            "{path}:{line}: systemd ignores this line ({why})",
        ),
        "cli.service.exposed": (
            "{path} 含有密钥，却可被所有用户读取",
            "{path} holds secrets but is readable by every user (mode {mode:o}; use 0640 root:venue-agent or 0600)",
        ),
        "cli.service.no_credentials_dir": (
            "凭据目录 {path} 不存在：服务将无法启动",
            "the credential directory {path} does not exist: LoadCredential= fails and the service does not "
            "start (systemd-tmpfiles --create venue-agent.conf makes it)",
        ),
        "cli.service.credentials_unreadable": (
            "无法读取凭据目录 {path}",
            "cannot read the credential directory {path}: {reason}",
        ),
        "cli.service.no_user": (
            "没有服务用户 {user}：服务将无法启动",
            "there is no user {user}: the service cannot start (systemd-sysusers venue-agent.conf creates it)",
        ),
        "cli.service.needs_root": (
            "须以 root 运行，才能以服务用户身份检查",
            "run as root: the check switches to the service user {user}, which needs root",
        ),
        "cli.service.no_setpriv": ("找不到 setpriv（util-linux）", "setpriv (util-linux) is not installed"),
        "cli.service.failed": ("无法以服务用户身份运行检查", "the check could not run as {user}: {detail}"),
        "cli.service.as_user": ("以服务用户 {user} 的身份", "as the service user {user} (uid {uid}, groups {groups})"),
        "cli.service.ok": (
            "以服务用户 {user} 检查通过：{files} 个文件、{secrets} 个密钥可用",
            "as the service user {user}: {files} file(s) and {secrets} secret(s) usable",
        ),
        "cli.service.problems": (
            "服务用户 {user} 有 {count} 处无法读取或使用",
            "{count} thing(s) the service user {user} cannot read or use",
        ),
        "cli.service.device_secret": (
            "当前环境缺少设备密钥（服务从环境文件读取；用 --service 检查）",
            "{detail} (the service reads *_env from {env_file}: `config check --service` checks with it)",
        ),
    }
)


def say(code: str, **fields: object) -> str:
    """One line, Chinese first: `中文 / English` (as agent/cli/messages.py)."""
    message = SERVICE_MESSAGES.render(code, **fields)
    return f"{message.zh} / {message.en}"


# -- systemd's EnvironmentFile= ---------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WHITESPACE = " \t\n\r"
_NEWLINE = "\n\r"
_SHELL_NEED_ESCAPE = '"\\`$'


@dataclass(frozen=True)
class EnvFile:
    """What systemd makes of an environment file: the variables, and the lines it drops."""

    variables: dict[str, str]
    ignored: list[tuple[int, str]]  # (line, why)


def parse_env_file(text: str) -> EnvFile:
    """systemd 252's EnvironmentFile= parser (src/basic/env-file.c, load_env_file), rewritten:
    `KEY=VALUE` per line, `#`/`;` comments at a line's start, whitespace around key and unquoted
    value stripped, '…' literal, "…" with \\-escapes of " \\ ` $, a trailing backslash joining
    lines; a line without `=` is dropped, and so (strv_env_clean) is an invalid name or a value
    with control characters. The last assignment of a name wins. No `export`, no `$VAR` expansion.
    Written out rather than approximated with shlex, since a value that systemd reads differently
    from a shell (a `#` inside, a quote) is exactly the mistake this check is for."""
    pairs: list[tuple[int, str, str | None]] = []
    ignored: list[tuple[int, str]] = []
    state = "pre_key"
    key: list[str] = []
    value: list[str] | None = None
    key_ws: int | None = None
    value_ws: int | None = None
    line = 1
    start_line = 1

    def push(strip_value: bool) -> None:
        nonlocal key, value
        name = "".join(key[:key_ws] if key_ws is not None else key)
        text_value = None if value is None else "".join(value)
        if text_value is not None and strip_value and value_ws is not None:
            text_value = text_value[:value_ws]
        pairs.append((start_line, name, text_value))
        key, value = [], None

    for c in text:
        if state == "pre_key":
            if c in "#;":
                state = "comment"
            elif c not in _WHITESPACE:
                state, key, key_ws, start_line = "key", [c], None, line
            elif c in _NEWLINE:
                line += 1
        elif state == "key":
            if c in _NEWLINE:
                ignored.append((start_line, "no '='"))
                state, key = "pre_key", []
                line += 1
            elif c == "=":
                state, value, value_ws = "pre_value", None, None
            else:
                if c not in _WHITESPACE:
                    key_ws = None
                elif key_ws is None:
                    key_ws = len(key)
                key.append(c)
        elif state == "pre_value":
            if c in _NEWLINE:
                push(strip_value=False)
                state = "pre_key"
                line += 1
            elif c == "'":
                state = "single"
            elif c == '"':
                state = "double"
            elif c == "\\":
                state = "value_escape"
            elif c not in _WHITESPACE:
                state = "value"
                value = (value or []) + [c]
        elif state == "value":
            if c in _NEWLINE:
                push(strip_value=True)
                state = "pre_key"
                line += 1
            elif c == "\\":
                state, value_ws = "value_escape", None
            else:
                value = value if value is not None else []
                if c not in _WHITESPACE:
                    value_ws = None
                elif value_ws is None:
                    value_ws = len(value)
                value.append(c)
        elif state == "value_escape":
            state = "value"
            value = value if value is not None else []
            if c not in _NEWLINE:
                value.append(c)
            else:
                line += 1
        elif state == "single":
            if c == "'":
                state = "pre_value"
            else:
                value = (value or []) + [c]
                line += c == "\n"
        elif state == "double":
            if c == '"':
                state = "pre_value"
            elif c == "\\":
                state = "double_escape"
            else:
                value = (value or []) + [c]
                line += c == "\n"
        elif state == "double_escape":
            state = "double"
            value = value if value is not None else []
            if c in _SHELL_NEED_ESCAPE:
                value.append(c)
            elif c != "\n":
                value += ["\\", c]
            else:
                line += 1
        elif state == "comment":
            if c == "\\":
                state = "comment_escape"
            elif c in _NEWLINE:
                state = "pre_key"
                line += 1
        elif state == "comment_escape":
            state = "comment"
            line += c == "\n"
    if state in ("pre_value", "value", "value_escape", "single", "double", "double_escape"):
        push(strip_value=state == "value")
    elif state == "key":
        ignored.append((start_line, "no '='"))

    variables: dict[str, str] = {}
    for number, name, text_value in pairs:
        if not _NAME.fullmatch(name):
            ignored.append((number, f"{name!r} is not a variable name"))
        elif text_value is not None and any((ord(ch) < 32 and ch not in "\t\n") or ord(ch) == 127 for ch in text_value):
            ignored.append((number, f"the value of {name} has control characters"))
        else:
            variables[name] = text_value or ""
    return EnvFile(variables, sorted(ignored))


# -- the service user --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceUser:
    """Who the unit runs as: uid, primary gid, and the supplementary groups initgroups() gives it."""

    label: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str


def service_user(spec: str) -> ServiceUser | None:
    """`NAME` from the user database (groups as systemd's User= sets them), or `UID:GID[:G1,G2…]`
    for an account without a passwd entry; None when the name is unknown."""
    if re.fullmatch(r"\d+:\d+(:\d+(,\d+)*)?", spec):
        uid, gid, *rest = spec.split(":")
        extra = tuple(int(g) for g in rest[0].split(",")) if rest else ()
        return ServiceUser(f"uid {uid}", int(uid), int(gid), tuple(dict.fromkeys((int(gid), *extra))), "/")
    try:
        entry = pwd.getpwnam(spec)
    except KeyError:
        return None
    groups = tuple(dict.fromkeys(os.getgrouplist(spec, entry.pw_gid)))
    return ServiceUser(spec, entry.pw_uid, entry.pw_gid, groups, entry.pw_dir)


# -- the root part: what systemd does before the service runs -----------------------------------------


def _mode_exposed(path: Path) -> int | None:
    """The file's mode when every user can read it (the file o+r and each directory above it
    o+x), else None: a 0644 file in a 0700 directory is not exposed."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if not mode & stat.S_IROTH:
            return None
        for parent in path.absolute().parents:
            if not parent.stat().st_mode & stat.S_IXOTH:
                return None
    except OSError:
        return None
    return mode


def load_credentials(source: Path, into: Path, user: ServiceUser) -> tuple[list[str], list[str]]:
    """Copy every regular file under `source` into `into` as LoadCredential=venue-agent:<source>
    does (name venue-agent_<path with / as _>, symlinks skipped, 0400, owned by the user); the
    problems (the start would fail) and warnings (secrets readable by all) found on the way."""
    problems: list[str] = []
    warnings: list[str] = []
    if not source.is_dir():
        if not source.exists():
            return [say("cli.service.no_credentials_dir", path=source)], warnings
        return [say("cli.service.credentials_unreadable", path=source, reason="not a directory")], warnings
    try:
        entries = sorted(p for p in source.rglob("*") if not p.is_symlink() and p.is_file())
    except OSError as exc:
        return [say("cli.service.credentials_unreadable", path=source, reason=exc.strerror or exc)], warnings
    for path in entries:
        name = f"{CREDENTIAL_ID}_" + str(path.relative_to(source)).replace("/", "_")
        target = into / name
        try:
            shutil.copyfile(path, target)
        except OSError as exc:
            problems.append(say("cli.service.credentials_unreadable", path=path, reason=exc.strerror or exc))
            continue
        os.chmod(target, 0o400)
        os.chown(target, user.uid, user.gid)
        if (mode := _mode_exposed(path)) is not None:
            warnings.append(say("cli.service.exposed", path=path, mode=mode))
    # The scratch directory above is root's 0700: let the user through to its own 0500 copy.
    os.chmod(into.parent, 0o711)
    os.chmod(into, 0o500)
    os.chown(into, user.uid, user.gid)
    return problems, warnings


def service_environment(user: ServiceUser, env_file: Path, credentials: Path) -> tuple[dict[str, str], list[str]]:
    """The environment systemd gives the service (PATH, the user's HOME/USER/LOGNAME/SHELL, the
    environment file's variables, $CREDENTIALS_DIRECTORY), and the warnings about the file."""
    warnings: list[str] = []
    name = user.label if not user.label.startswith("uid ") else str(user.uid)
    environment = {
        "PATH": SYSTEMD_PATH,
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "HOME": user.home,
        "USER": name,
        "LOGNAME": name,
        "SHELL": "/usr/sbin/nologin",
    }
    try:
        text = env_file.read_bytes().decode("utf-8")
    except FileNotFoundError:
        warnings.append(say("cli.service.env_missing", path=env_file))
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else f"not UTF-8 ({exc})"
        warnings.append(say("cli.service.env_unreadable", path=env_file, reason=reason))
        text = ""
    parsed = parse_env_file(text)
    for line, why in parsed.ignored:
        warnings.append(say("cli.service.env_ignored", path=env_file, line=line, why=why))
    if text and (mode := _mode_exposed(env_file)) is not None:
        warnings.append(say("cli.service.exposed", path=env_file, mode=mode))
    environment.update(parsed.variables)
    environment[CREDENTIALS_VARIABLE] = str(credentials)
    return environment, warnings


def check_as_service(
    config_path: Path, user_spec: str, env_file: Path, credentials_dir: Path | None, state_root: Path
) -> int:
    """The root part, then the service user's part in a process of its own (exit code of the whole)."""
    user = service_user(user_spec)
    if user is None:
        click.echo(f"{config_path}: {say('cli.service.no_user', user=user_spec)}", err=True)
        return CONFIG_ERROR_EXIT
    if os.geteuid() != 0:
        click.echo(f"UNKNOWN: {say('cli.service.needs_root', user=user.label)}", err=True)
        return CANNOT_CHECK_EXIT
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        click.echo(f"UNKNOWN: {say('cli.service.no_setpriv')}", err=True)
        return CANNOT_CHECK_EXIT
    source = credentials_dir or credential_source_dir()
    with tempfile.TemporaryDirectory(prefix="venue-agent-credentials-") as scratch:
        credentials = Path(scratch) / "credentials"
        credentials.mkdir(mode=0o700)
        problems, warnings = load_credentials(source, credentials, user)
        environment, env_warnings = service_environment(user, env_file, credentials)
        warnings += env_warnings
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
        for problem in problems:
            click.echo(f"{config_path}: {problem}", err=True)
        groups = ",".join(str(g) for g in user.groups)
        command = [
            setpriv,
            f"--reuid={user.uid}",
            f"--regid={user.gid}",
            f"--groups={groups}" if groups else "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
            sys.executable,
            "-m",
            "agent",
            "config",
            "check",
            "-c",
            str(config_path.absolute()),
            "--service-part",
            user.label,
            "--state-directory",
            str(state_root),
        ]
        try:
            inner = subprocess.run(command, env=environment, cwd="/", timeout=INNER_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            click.echo(f"UNKNOWN: {say('cli.service.failed', user=user.label, detail=exc)}", err=True)
            return CANNOT_CHECK_EXIT
        finally:
            os.chmod(credentials, 0o700)  # root removes it either way; the mode is for the record
    if inner.returncode not in (0, CONFIG_ERROR_EXIT):
        return inner.returncode
    return CONFIG_ERROR_EXIT if problems or inner.returncode else 0


# -- the service user's part: everything the config names ---------------------------------------------


@dataclass
class Findings:
    """What the service user's part found: fatal problems, warnings, and what it could use."""

    user: str
    state_root: Path  # the unit's StateDirectory=
    problems: list[tuple[str, str]] = field(default_factory=list)  # (config field, message)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    files: int = 0
    secrets: int = 0


def _open_reason(path: Path) -> str | None:
    """Why `path` cannot be opened and read as a regular file by this process (None: it can).
    Non-blocking, so a FIFO named by mistake is reported, not waited on."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        return exc.strerror or str(exc)
    except ValueError as exc:
        return str(exc)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return "not a regular file"
        os.read(descriptor, 1)
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        os.close(descriptor)
    return None


def _readable(found: Findings, config_field: str, path: Path | None) -> None:
    if path is None:
        return
    reason = _open_reason(path)
    if reason is None:
        found.files += 1
    else:
        found.problems.append((config_field, say("cli.service.unreadable", user=found.user, path=path, reason=reason)))


def _secret(found: Findings, resolve: Callable[[], object]) -> None:
    try:
        if resolve() is not None:
            found.secrets += 1
    except SecretError as exc:
        found.problems.append((exc.issue.field, say("cli.service.secret", detail=exc.issue.message)))


def _under(path: Path, root: Path) -> bool:
    resolved = Path(os.path.normpath(path.absolute()))
    return resolved == root or root in resolved.parents


def _check_state_dir(found: Findings, state_dir: Path) -> None:
    if not _under(state_dir, found.state_root):
        found.problems.append(
            ("agent.state_dir", say("cli.service.outside_state", path=state_dir, allowed=found.state_root))
        )
        return
    top = Path(os.path.normpath(state_dir.absolute())) == found.state_root
    if not state_dir.exists():
        if top:
            found.warnings.append(
                ("agent.state_dir", say("cli.service.state_later", path=state_dir, reason="missing", user=found.user))
            )
        else:
            reason = "no such directory"
            found.problems.append(
                ("agent.state_dir", say("cli.service.unwritable", user=found.user, path=state_dir, reason=reason))
            )
        return
    for path, mode in ((state_dir, os.W_OK | os.X_OK), (state_dir / "outbox.sqlite3", os.R_OK | os.W_OK)):
        if path.exists() and not os.access(path, mode):
            if top:
                found.warnings.append(
                    (
                        "agent.state_dir",
                        say("cli.service.state_later", path=path, reason="not writable", user=found.user),
                    )
                )
            else:
                reason = "permission denied"
                found.problems.append(
                    ("agent.state_dir", say("cli.service.unwritable", user=found.user, path=path, reason=reason))
                )
            return
    found.files += 1


def _check_device(found: Findings, config_field: str, path: Path, group: str) -> None:
    if not path.exists():
        found.warnings.append((config_field, say("cli.service.device_missing", path=path)))
    elif not os.access(path, os.R_OK | os.W_OK):  # access(2): this process's real ids are the service's
        reason = "permission denied"
        found.problems.append(
            (config_field, say("cli.service.device", user=found.user, path=path, reason=reason, group=group))
        )
    else:
        found.files += 1


def _check_media(found: Findings, settings: Settings) -> None:
    video = settings.video
    if video is not None:
        text = video.source
        if text.isdigit() or re.fullmatch(r"/dev/video\d+", text):
            device = Path(f"/dev/video{text}") if text.isdigit() else Path(text)
            _check_device(found, "video.source", device, "video")
        elif "://" not in text:
            _readable(found, "video.source", Path(text))
    audio = settings.audio
    if audio is not None:
        if audio.source.startswith("device:"):
            captures = sorted(Path("/dev/snd").glob("pcmC*D*c")) if Path("/dev/snd").is_dir() else []
            if not captures:
                found.warnings.append(("audio.source", say("cli.service.device_missing", path="/dev/snd/pcmC*D*c")))
            elif not any(os.access(p, os.R_OK | os.W_OK) for p in captures):
                reason = "permission denied"
                found.problems.append(
                    (
                        "audio.source",
                        say("cli.service.device", user=found.user, path=captures[0], reason=reason, group="audio"),
                    )
                )
            else:
                found.files += 1
        else:
            _readable(found, "audio.source", Path(audio.source))


def _check_ssh_files(found: Findings, settings: Settings) -> None:
    ssh = settings.ssh
    if not ssh.devices:
        return
    for index, device in enumerate(ssh.devices):
        _readable(found, f"ssh.devices[{index}].key_file", device.key_file)
    known_hosts = ssh.known_hosts or settings.agent.state_dir / "ssh_known_hosts"
    where = "ssh.known_hosts"
    if known_hosts.exists():
        _readable(found, where, known_hosts)
    elif not ssh.trust_on_first_use:
        found.warnings.append((where, say("cli.service.no_known_hosts", path=known_hosts)))
    if ssh.trust_on_first_use and not _under(known_hosts, found.state_root):
        found.warnings.append((where, say("cli.service.tofu_read_only", path=known_hosts)))


def service_findings(settings: Settings, user: str, state_root: Path = STATE_DIRECTORY) -> Findings:
    """Everything the service would read, checked by this process, which runs as the service user
    with the service's environment (so os.environ is what the service's would be)."""
    env = dict(os.environ)
    found = Findings(user, state_root)
    broker = settings.broker
    _secret(found, lambda: resolve_password(broker, env))
    if broker.tls is not None:
        for name in ("ca_file", "cert_file", "key_file"):
            _readable(found, f"broker.tls.{name}", getattr(broker.tls, name))
    for device in settings.snmp.devices:
        _secret(found, lambda device=device: credentials_of(device))  # os.environ: the service's
    traps = settings.snmp.traps
    if traps.enabled and traps.communities_env and traps.communities_env not in env:
        message = f"environment variable {traps.communities_env} is not set"
        found.problems.append(("snmp.traps.communities_env", say("cli.service.secret", detail=message)))
    for device in settings.ssh.devices:
        _secret(found, lambda device=device: resolve_password_fields(device, f"ssh.devices[{device.name}]", env))
    _check_ssh_files(found, settings)
    _readable(found, "schedule.ics_file", settings.schedule.ics_file)
    _check_media(found, settings)
    _check_state_dir(found, settings.agent.state_dir)
    return found


# -- the command --------------------------------------------------------------------------------------


def calendar_warnings(settings: Settings) -> list[str]:
    """What the daemon would leave out of the .ics file named by [schedule] ics_file."""
    if settings.schedule.ics_file is None:
        return []
    try:
        _, problems = read_ics(settings.schedule.ics_file, ZoneInfo(settings.schedule.timezone))
    except IcsError as exc:
        return [str(exc)]
    return problems


def _base_topic(settings: Settings) -> str:
    venue = settings.venue
    return "/".join((settings.broker.topic_prefix, venue.province, venue.prefecture, venue.county, venue.id))


def _device_secret_warnings(settings: Settings) -> Iterator[str]:
    """Device secrets this shell's environment lacks (the service has its environment file)."""
    for device in settings.snmp.devices:
        try:
            credentials_of(device)
        except SecretError as exc:
            yield say("cli.service.device_secret", detail=str(exc), env_file=ENV_FILE)
    for device in settings.ssh.devices:
        try:
            resolve_password_fields(device, f"ssh.devices[{device.name}]")
        except SecretError as exc:
            yield say("cli.service.device_secret", detail=str(exc), env_file=ENV_FILE)


def _plain_check(config_path: Path, settings: Settings) -> None:
    broker = settings.broker
    try:
        resolve_password(broker)
    except SecretError as exc:
        click.echo(f"{config_path}: {exc.issue.field}: {exc.issue.message}", err=True)
        sys.exit(CONFIG_ERROR_EXIT)
    note = ""
    device_warnings = list(_device_secret_warnings(settings))
    for warning in device_warnings:
        click.echo(f"warning: {warning}", err=True)
    if device_warnings:
        note += f" ({len(device_warnings)} device secret(s) not in this environment / 当前环境缺少设备密钥)"
    warnings = calendar_warnings(settings)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if warnings:
        note += f" ({len(warnings)} warning(s) about schedule.ics_file / 会议日历有 {len(warnings)} 处问题)"
    click.echo(f"OK: {config_path} — {settings.venue.name} publishes under {_base_topic(settings)}/{note}")


def _service_part(config_path: Path, user: str, state_root: Path) -> None:
    """Runs as the service user (re-executed by check_as_service): load, resolve, open; exit."""
    groups = ",".join(str(g) for g in os.getgroups()) or str(os.getgid())
    as_user = say("cli.service.as_user", user=user, uid=os.getuid(), groups=groups)
    try:
        settings = load_config(config_path)
    except ConfigError as exc:
        click.echo(f"{as_user}:", err=True)
        for issue in exc.issues:
            click.echo(issue.render(config_path), err=True)
        click.echo(f"{config_path}: {len(exc.issues)} error(s) / 配置有 {len(exc.issues)} 处错误", err=True)
        sys.exit(CONFIG_ERROR_EXIT)
    found = service_findings(settings, user, state_root)
    for config_field, message in found.warnings:
        click.echo(f"warning: {config_path}: {config_field}: {message}", err=True)
    for warning in calendar_warnings(settings):
        click.echo(f"warning: {warning}", err=True)
    for config_field, message in found.problems:
        click.echo(f"{config_path}: {config_field}: {message}", err=True)
    if found.problems:
        click.echo(f"{config_path}: {say('cli.service.problems', user=user, count=len(found.problems))}", err=True)
        sys.exit(CONFIG_ERROR_EXIT)
    summary = say("cli.service.ok", user=user, files=found.files, secrets=found.secrets)
    click.echo(f"OK: {config_path} — {settings.venue.name} publishes under {_base_topic(settings)}/ ({summary})")


@click.command("check")
@click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    # readable=False: an unreadable file is a config error (exit 2) naming the reason, read by the
    # loader, not click's usage error (exit 3) — as the service user, "cannot read" is the finding.
    type=click.Path(path_type=Path, readable=False),
    help="The venue's TOML config file.",
)
@click.option(
    "--service",
    is_flag=True,
    help="Check as the systemd service would run: as its user (needs root), with its environment file "
    "and credentials; every secret resolved and every named file opened.",
)
@click.option(
    "--user",
    "user_spec",
    default=SERVICE_USER,
    show_default=True,
    help="With --service: the service's user, or UID:GID[:GROUP,…] for an account without a passwd entry.",
)
@click.option(
    "--env-file",
    type=click.Path(path_type=Path),
    default=ENV_FILE,
    show_default=True,
    help="With --service: the unit's EnvironmentFile=.",
)
@click.option(
    "--credentials-dir",
    type=click.Path(path_type=Path),
    default=None,
    help=f"With --service: the unit's LoadCredential= directory (default: ${CREDENTIAL_SOURCE_VARIABLE} "
    "or /etc/venue-agent/credentials).",
)
@click.option(
    "--state-directory",
    "state_root",
    type=click.Path(path_type=Path),
    default=STATE_DIRECTORY,
    show_default=True,
    help="With --service: the unit's StateDirectory=, the one place it may write.",
)
@click.option("--service-part", "service_part", default=None, hidden=True)
def config_check(
    config_path: Path,
    service: bool,
    user_spec: str,
    env_file: Path,
    credentials_dir: Path | None,
    state_root: Path,
    service_part: str | None,
) -> None:
    """Validate a config file: prints OK, or every error with its field path and line.

    The .ics file it names is read too: what the daemon would leave out of it (the whole file, or
    single events) is printed as warnings; they do not fail the check, as they do not stop the daemon.
    With --service, everything the service reads is checked as the service user (docs/service.md)."""
    if service_part is not None:
        _service_part(config_path, service_part, state_root)
        return
    from agent.cli.main import _load_or_exit  # the one place config errors are printed and exit 2

    if service and os.geteuid() != 0:  # before reading the file, which root may read and this user not
        click.echo(f"UNKNOWN: {say('cli.service.needs_root', user=user_spec)}", err=True)
        sys.exit(CANNOT_CHECK_EXIT)
    settings = _load_or_exit(config_path)
    if not service:
        _plain_check(config_path, settings)
        return
    sys.exit(check_as_service(config_path, user_spec, env_file, credentials_dir, state_root))
