"""From a Cisco codec's xAPI status answers to a CodecStatus (call, media, inputs, registration…).

Two software lines name several paths differently (docs/ssh.md, "TC and CE/RoomOS", with the
guides cited); both map to the same readings, recognised by the shape of the tree itself, so a
codec whose version string we do not know is still read:

- media channel — CE: `MediaChannels Call n Channel m` with `Direction` and `Type` leaves;
  TC: `MediaChannels Call n IncomingVideoChannel m` and siblings (direction and type in the name),
  with the Netstat counters not there but under `Diagnostics Call n Channels IncomingVideoChannel m
  Netstat 1` (the TC 7.1/7.2 guides' transcriptions, as in the TC1 guide);
- video input — CE: `Video Input Connector n` with a `Type` leaf; TC: `Video Input HDMI n`,
  `DVI n`, `Legacy n`… (the type in the name);
- SIP registration — CE: `SIP Registration n Status`; TC: `SIP Profile p Registration n Status`;
- temperature — CE: `SystemUnit Hardware Monitoring Temperature Status` (a word); TC:
  `SystemUnit Hardware Temperature` and `TemperatureThreshold` (°C);
- diagnostics messages — CE: `Diagnostics Message n`; TC: `SystemUnit Diagnostics Message n`
  (Level/Type/Description/References in both).

The commands (one status subtree each, per line) are in profiles/cisco_tp.yaml.
"""

from __future__ import annotations

import math
import re
from typing import Any

from collectors.ssh.readings import CodecCall, CodecStatus, Diagnostic, MediaChannel, VideoInput
from collectors.ssh.xapi import LEAF_KEY, Tree, instances, parse, subtree

TC_CHANNEL = re.compile(r"^(Incoming|Outgoing)(Audio|Video|Data)Channel$")


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):  # text, and numbers past int()'s 4,300-digit limit
        return None


def _float(value: object) -> float | None:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _node(tree: Any, *path: str | int) -> Tree:
    """tree[path…] as a subtree; {} where a step is missing or is a leaf. The answer is the codec's
    text, so `*s SystemUnit: x` can stand where children were expected."""
    found = subtree(tree, *path) if isinstance(tree, dict) else None
    return found if isinstance(found, dict) else {}


def _leaf(node: Tree, key: str) -> str | None:
    """The text at node[key]; where the codec printed children under that name too, the text kept
    beside them; None where there is no text (missing, or children only)."""
    value = node.get(key)
    if isinstance(value, dict):
        value = value.get(LEAF_KEY)
    return value if isinstance(value, str) else None


def merge(outputs: dict[str, str]) -> Tree:
    """One tree from all answers (a refused command adds nothing; the poll reports it)."""
    tree: Tree = {}
    for output in outputs.values():
        answer = parse(output)
        if not answer.ok:
            continue
        for key, value in answer.tree.items():
            if isinstance(value, dict) and isinstance(tree.get(key), dict):
                tree[key].update(value)
            else:
                tree[key] = value
    return tree


def loss_pct(netstat: Tree) -> float | None:
    """Loss over the last interval when the codec gives it, else over the whole call; None when the
    counters cannot make a percentage (missing, negative, or nothing counted)."""
    lost, received = _int(_leaf(netstat, "LastIntervalLost")), _int(_leaf(netstat, "LastIntervalReceived"))
    if lost is not None and received is not None and lost >= 0 and received >= 0 and lost + received > 0:
        return 100.0 * lost / (lost + received)
    lost, packets = _int(_leaf(netstat, "Loss")), _int(_leaf(netstat, "Packets"))
    if lost is not None and packets is not None and lost >= 0 and packets > 0:
        return 100.0 * lost / (lost + packets)
    return None


def _netstat(channel: Tree) -> Tree:
    """A channel's Netstat leaves; the oldest TC guides print it as an instance (`Netstat 1 Jitter`)."""
    netstat = _node(channel, "Netstat")
    numbered = instances(netstat)
    return numbered[min(numbered)] if numbered else netstat


def _channel(call_id: int, channel_id: int, channel: Tree, direction: str | None, kind: str | None) -> MediaChannel:
    netstat = _netstat(channel)
    return MediaChannel(
        call=call_id,
        channel=channel_id,
        direction=direction,
        type=kind,
        loss_pct=loss_pct(netstat),
        jitter_ms=_float(_leaf(netstat, "Jitter")),
    )


def _tc_channels(call: Tree) -> dict[tuple[str, int], tuple[str, str, Tree]]:
    """A call's TC-named channels: (name, id) → (direction, media type, the channel's node)."""
    return {
        (name, channel_id): (match[1], match[2], channel)
        for name in call
        if isinstance(name, str) and (match := TC_CHANNEL.match(name))
        for channel_id, channel in instances(call[name]).items()
    }


def media_channels(tree: Tree) -> list[MediaChannel]:
    """Per call and channel, both shapes: CE's `Channel m` with Direction/Type leaves, TC's
    `IncomingVideoChannel m` and its siblings (direction and media type in the name). A TC codec
    keeps a channel's Netstat under `Diagnostics Call n Channels <name> m`, not under MediaChannels:
    a channel found in either place is read, its counters from wherever they are."""
    media = []
    calls = instances(_node(tree, "MediaChannels", "Call"))
    diagnosed = {
        call_id: _tc_channels(_node(call, "Channels"))
        for call_id, call in instances(_node(tree, "Diagnostics", "Call")).items()
    }
    for call_id in sorted(set(calls) | set(diagnosed)):
        call = calls.get(call_id, {})
        for channel_id, channel in sorted(instances(_node(call, "Channel")).items()):
            media.append(_channel(call_id, channel_id, channel, _leaf(channel, "Direction"), _leaf(channel, "Type")))
        named, counted = _tc_channels(call), diagnosed.get(call_id, {})
        for key in sorted(set(named) | set(counted)):
            direction, kind, channel = named.get(key) or counted[key]
            if not _node(channel, "Netstat") and key in counted:
                channel = counted[key][2]
            media.append(_channel(call_id, key[1], channel, direction, kind))
    return sorted(media, key=lambda m: (m.call, m.channel))


def _input(number: int, connector: Tree, kind: str | None) -> VideoInput:
    return VideoInput(
        connector=number,
        connected={"True": True, "False": False}.get(_leaf(connector, "Connected") or ""),
        signal=_leaf(connector, "SignalState"),
        type=kind,
    )


def video_inputs(tree: Tree) -> list[VideoInput]:
    """CE's `Video Input Connector n` (Type a leaf) and TC's per-type nodes, `Video Input HDMI n`,
    `DVI n`, `Legacy n`… (any instance node there with a Connected or SignalState leaf; `Source`
    instances describe sources, not connectors, and have neither)."""
    inputs = []
    video_input = _node(tree, "Video", "Input")
    for name, node in video_input.items():
        for number, connector in sorted(instances(node).items()):
            if name == "Connector":
                inputs.append(_input(number, connector, _leaf(connector, "Type")))
            elif isinstance(name, str) and ("Connected" in connector or "SignalState" in connector):
                inputs.append(_input(number, connector, name))
    return inputs


def sip_registrations(tree: Tree) -> list[str]:
    """Every SIP registration's status: CE's `SIP Registration n`, TC's `SIP Profile p Registration n`."""
    sip = _node(tree, "SIP")
    registrations = list(instances(_node(sip, "Registration")).values())
    for profile in instances(_node(sip, "Profile")).values():
        registrations += instances(_node(profile, "Registration")).values()
    return [status for registration in registrations if (status := _leaf(registration, "Status"))]


def codec_status(tree: Tree) -> CodecStatus:
    """Whatever shape the answers had: a leaf where a subtree is expected reads as absent."""
    unit = _node(tree, "SystemUnit")
    state = _node(unit, "State")
    hardware = _node(unit, "Hardware")
    active = _int(_leaf(state, "NumberOfActiveCalls")) or 0
    calls = [
        CodecCall(
            id=call_id,
            status=_leaf(call, "Status") or "Unknown",
            direction=_leaf(call, "Direction"),
            protocol=protocol.lower() if (protocol := _leaf(call, "Protocol")) is not None else None,
            remote=_leaf(call, "RemoteNumber") or _leaf(call, "CallbackNumber"),
            duration_s=_int(_leaf(call, "Duration")),
            tx_rate_kbps=_int(_leaf(call, "TransmitCallRate")),
            rx_rate_kbps=_int(_leaf(call, "ReceiveCallRate")),
        )
        for call_id, call in sorted(instances(_node(tree, "Call")).items())
    ]
    sip = sip_registrations(tree)
    messages = [*instances(_node(tree, "Diagnostics", "Message")).items()]  # CE
    messages += instances(_node(unit, "Diagnostics", "Message")).items()  # TC
    diagnostics = [
        Diagnostic(level=_leaf(m, "Level") or "Unknown", type=_leaf(m, "Type"), description=_leaf(m, "Description"))
        for _, m in sorted(messages, key=lambda item: item[0])
    ]
    return CodecStatus(
        product=_leaf(unit, "ProductId"),
        software=_leaf(_node(unit, "Software"), "Version"),
        system_state=_leaf(state, "System") or ("InCall" if active else "Idle"),
        active_calls=active,
        temperature=_leaf(_node(hardware, "Monitoring", "Temperature"), "Status"),
        temperature_c=_float(_leaf(hardware, "Temperature")),
        temperature_limit_c=_float(_leaf(hardware, "TemperatureThreshold")),
        calls=calls,
        media=media_channels(tree),
        video_inputs=video_inputs(tree),
        registration={"sip": _first_registered(sip), "h323": _leaf(_node(tree, "H323", "Gatekeeper"), "Status")},
        diagnostics=diagnostics,
    )


def _first_registered(statuses: list[str]) -> str | None:
    """One SIP word for the codec: a registered one where any is, else the first one reported."""
    return next((s for s in statuses if s.lower() == "registered"), statuses[0] if statuses else None)
