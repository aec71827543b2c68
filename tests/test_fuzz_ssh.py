"""Fuzz: what SSH devices print, through the parsers of collectors/ssh/.

- A Cisco codec's xAPI answers (`*s` lines) with any paths and values — a leaf where the parser
  expects a subtree and the other way round, negative and huge counters, text in number fields —
  go through `codec.merge` and `codec.codec_status` into a CodecStatus, never an exception.
- Network gear output (Huawei VRP, H3C Comware, Cisco IOS): the simulated devices' real layouts,
  mutated, and arbitrary text, through `gear.interfaces` / `gear.cpu_pct` give interfaces and a
  CPU figure or GearParseError (the documented "no template or pattern understood"), nothing else;
  `profile.rejection_of` answers a line or None for any output.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from collectors.ssh import codec, gear
from collectors.ssh.profile import profile_for
from collectors.ssh.readings import CodecStatus, SshReading
from collectors.ssh.xapi import render_status
from fuzz.budget import examples
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

FUZZ = settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)

# -- the codec ------------------------------------------------------------------------------------

# The names the codec parser looks for, so generated paths hit the code that reads them.
NAMES = st.sampled_from(
    [
        "SystemUnit", "State", "NumberOfActiveCalls", "System", "ProductId", "Software", "Version", "Hardware",
        "Monitoring", "Temperature", "Status", "Call", "Direction", "Protocol", "RemoteNumber", "CallbackNumber",
        "Duration", "TransmitCallRate", "ReceiveCallRate", "MediaChannels", "Channel", "Netstat", "Loss", "Packets",
        "LastIntervalLost", "LastIntervalReceived", "Jitter", "Type", "Video", "Input", "Connector", "Connected",
        "SignalState", "SIP", "Registration", "H323", "Gatekeeper", "Diagnostics", "Message", "Level",
        "Description",
    ]
)  # fmt: skip
INDEXES = st.one_of(st.integers(0, 3), st.sampled_from([-1, 10**30])).map(str)
VALUES = st.one_of(
    TEXT,
    st.integers().map(str),
    st.sampled_from(["-5", "0", "3", "nan", "inf", "-inf", "1e400", "True", "False", '"quoted \\" text"', ""]),
    st.just("9" * 5000),
)


@st.composite
def status_line(draw: st.DrawFn) -> str:
    path = draw(st.lists(st.one_of(NAMES, NAMES, INDEXES, TEXT.filter(lambda t: ":" not in t)), max_size=7))
    form = draw(st.sampled_from(["value", "value", "empty", "ghost", "raw"]))
    if form == "value":
        return f"*s {' '.join(path)}: {draw(VALUES)}"
    if form == "empty":
        return f"*s {' '.join(path)}:"
    if form == "ghost":
        return f"*s {' '.join(path)} (ghost=True)"
    return "*s " + draw(TEXT)


def _answer(lines: list[str], trailer: str = "OK") -> str:
    return "\r\n".join(["xStatus", *lines, "** end", "", trailer, ""])


REAL_CODEC_LINES = render_status(codec_tree(CodecState(diagnostics=[("Warning", "CameraId", "Camera 1 is off")])))


@st.composite
def codec_outputs(draw: st.DrawFn) -> dict[str, str]:
    """Answers to the profile's commands: the simulated codec's real lines with some dropped, generated
    lines mixed in, the order shuffled or not; each command answered OK, ERROR or not recognised."""
    count = len(REAL_CODEC_LINES)
    dropped = draw(st.sets(st.integers(0, count - 1), max_size=count // 3))
    lines = [line for i, line in enumerate(REAL_CODEC_LINES) if i not in dropped]
    lines += draw(st.lists(status_line(), max_size=10))
    if draw(st.booleans()):
        lines = list(draw(st.permutations(lines)))
    trailers = st.sampled_from(["OK", "OK", "OK", "ERROR", "Command not recognized."])
    return {command: _answer(lines, draw(trailers)) for command in profile_for("cisco_tp").commands}


def _check_codec(outputs: dict[str, str]) -> CodecStatus:
    status = codec.codec_status(codec.merge(outputs))
    CodecStatus.model_validate_json(status.model_dump_json())  # what `probe ssh --json` prints, read back
    for channel in status.media:
        assert channel.loss_pct is None or (math.isfinite(channel.loss_pct) and 0 <= channel.loss_pct <= 100)
    return status


@given(codec_outputs())
@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_codec_answers_give_a_codec_status(outputs: dict[str, str]) -> None:
    status = _check_codec(outputs)
    event(f"{len(status.calls)} calls, {len(status.media)} channels")


@given(st.lists(status_line(), min_size=1, max_size=25))
@FUZZ
def test_generated_status_lines_alone(lines: list[str]) -> None:
    _check_codec({"xStatus": _answer(lines)})


def test_the_real_codec_answer_reads_as_the_simulated_state() -> None:
    """The mutations start from a real answer that parses: the simulated call at 0 % loss."""
    status = _check_codec({"xStatus": _answer(REAL_CODEC_LINES)})
    assert status.active_calls == 1 and status.calls and status.media
    assert status.registration["sip"] == "Registered"


# Found by the fuzzing above (regressions): each raised out of codec_status before.


def test_a_leaf_where_the_system_unit_subtree_belongs_reads_as_absent() -> None:
    status = _check_codec({"xStatus": _answer(["*s SystemUnit: 0"])})  # AttributeError: 'str' … 'get'
    assert status.product is None and status.active_calls == 0


def test_children_where_a_call_field_belongs_read_as_absent() -> None:
    lines = ["*s Call 3 Status: Connected", "*s Call 3 Direction Foo: x", "*s Call 3 RemoteNumber Bar 1: y"]
    status = _check_codec({"xStatus": _answer(lines)})  # pydantic ValidationError (a dict as `direction`)
    assert status.calls[0].status == "Connected" and status.calls[0].direction is None
    assert status.calls[0].remote is None


def test_negative_loss_counters_give_no_percentage() -> None:
    lines = [
        "*s MediaChannels Call 3 Channel 1 Netstat Loss: -3",
        "*s MediaChannels Call 3 Channel 1 Netstat Packets: 3",
    ]
    status = _check_codec({"xStatus": _answer(lines)})  # ZeroDivisionError (-3 / (-3 + 3))
    assert status.media[0].loss_pct is None


def test_a_jitter_of_nan_is_no_figure() -> None:
    status = _check_codec({"xStatus": _answer(["*s MediaChannels Call 3 Channel 1 Netstat Jitter: nan"])})
    assert status.media[0].jitter_ms is None


# -- network gear ---------------------------------------------------------------------------------

GEAR = {
    "huawei": (huawei_interface_brief, huawei_cpu_usage, "GigabitEthernet0/0/"),
    "hp_comware": (comware_interface_brief, comware_cpu_usage, "GE1/0/"),
    "cisco_ios": (ios_interfaces_status, ios_processes_cpu, "Gi1/0/"),
}
PORTS = st.builds(
    Port,
    name=st.just(""),
    up=st.booleans(),
    admin_up=st.booleans(),
    in_errors=st.one_of(st.integers(0, 10**6), st.integers(10**15, 10**20)),
    out_errors=st.integers(0, 10**6),
    description=st.one_of(st.just(""), TEXT.filter(lambda t: "\n" not in t and "\r" not in t)),
)


@st.composite
def gear_outputs(draw: st.DrawFn) -> tuple[str, str, str]:
    """(device_type, interface output, CPU output): a simulated device's real output, then mutated."""
    device_type = draw(st.sampled_from(sorted(GEAR)))
    brief, cpu, prefix = GEAR[device_type]
    ports = draw(st.lists(PORTS, min_size=1, max_size=6))
    for number, port in enumerate(ports, start=1):
        port.name = f"{prefix}{number}"
    state = GearState(hostname="SW", ports=ports, cpu_pct=draw(st.integers(0, 100)))
    outputs = []
    for text in (brief(state), cpu(state)):
        lines = text.split("\r\n")
        for _ in range(draw(st.integers(0, 3))):
            at = draw(st.integers(0, len(lines) - 1))
            how = draw(st.sampled_from(["drop", "cut", "splice", "double"]))
            if how == "drop":
                del lines[at]
            elif how == "cut":
                lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
            elif how == "splice":
                column = draw(st.integers(0, len(lines[at])))
                lines[at] = lines[at][:column] + draw(TEXT) + lines[at][column:]
            else:
                lines.insert(at, lines[at])
            if not lines:
                lines = [""]
        outputs.append("\r\n".join(lines))
    return device_type, outputs[0], outputs[1]


def _check_gear(device_type: str, interfaces_text: str, cpu_text: str) -> SshReading:
    profile = profile_for(device_type)
    reading = SshReading(device="fuzz", target="127.0.0.1:22", device_type=device_type, reachable=True)
    for command, text in ((profile.interfaces.command, interfaces_text), (profile.cpu.command, cpu_text)):  # type: ignore[union-attr]
        line = profile.rejection_of(text)
        assert line is None or isinstance(line, str)
        del command
    try:
        reading.interfaces = gear.interfaces(profile, interfaces_text)
    except gear.GearParseError as exc:
        assert str(exc).startswith(repr(profile.interfaces.command)), exc  # type: ignore[union-attr]
        reading.unparsed.append(str(exc))
    try:
        reading.cpu_pct = gear.cpu_pct(profile, cpu_text)
    except gear.GearParseError as exc:
        assert str(exc).startswith(repr(profile.cpu.command)), exc  # type: ignore[union-attr]
        reading.unparsed.append(str(exc))
    SshReading.model_validate_json(reading.model_dump_json())
    return reading


# TextFSM is slow: fewer examples for the gear output.
GEAR_FUZZ = settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(gear_outputs())
@GEAR_FUZZ
def test_gear_output_gives_interfaces_or_a_parse_error(outputs: tuple[str, str, str]) -> None:
    reading = _check_gear(*outputs)
    event(f"{outputs[0]}: {'parsed' if reading.interfaces else 'unparsed'}")


@given(st.sampled_from(sorted(GEAR)), st.text(max_size=300), st.text(max_size=120))
@GEAR_FUZZ
def test_arbitrary_text_as_gear_output(device_type: str, interfaces_text: str, cpu_text: str) -> None:
    _check_gear(device_type, interfaces_text, cpu_text)


@given(st.sampled_from(["cisco_tp", *sorted(GEAR)]), st.text(max_size=300))
@FUZZ
def test_rejection_of_any_output(device_type: str, output: str) -> None:
    line = profile_for(device_type).rejection_of(output)
    assert line is None or isinstance(line, str)


def test_the_real_gear_outputs_parse() -> None:
    for device_type, (brief, cpu, prefix) in GEAR.items():
        state = GearState(hostname="SW", ports=[Port(f"{prefix}1"), Port(f"{prefix}2", up=False)], cpu_pct=12)
        reading = _check_gear(device_type, brief(state), cpu(state))
        ports = {i.name: i.oper_status for i in reading.interfaces if i.name.startswith(prefix)}
        assert ports == {f"{prefix}1": "up", f"{prefix}2": "down"}, (device_type, ports)
        assert reading.cpu_pct is not None and not reading.unparsed, device_type
