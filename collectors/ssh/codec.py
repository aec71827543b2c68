"""From a Cisco codec's xAPI status answers to a CodecStatus (call, media, inputs, registration…).

The commands (one status subtree each) are in profiles/cisco_tp.yaml.
"""

from __future__ import annotations

import math
from typing import Any

from collectors.ssh.readings import CodecCall, CodecStatus, Diagnostic, MediaChannel, VideoInput
from collectors.ssh.xapi import LEAF_KEY, Tree, instances, parse, subtree


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


def codec_status(tree: Tree) -> CodecStatus:
    """Whatever shape the answers had: a leaf where a subtree is expected reads as absent."""
    unit = _node(tree, "SystemUnit")
    state = _node(unit, "State")
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
    media = []
    for call_id, call in sorted(instances(_node(tree, "MediaChannels", "Call")).items()):
        for channel_id, channel in sorted(instances(_node(call, "Channel")).items()):
            netstat = _node(channel, "Netstat")
            media.append(
                MediaChannel(
                    call=call_id,
                    channel=channel_id,
                    direction=_leaf(channel, "Direction"),
                    type=_leaf(channel, "Type"),
                    loss_pct=loss_pct(netstat),
                    jitter_ms=_float(_leaf(netstat, "Jitter")),
                )
            )
    inputs = [
        VideoInput(
            connector=number,
            connected={"True": True, "False": False}.get(_leaf(connector, "Connected") or ""),
            signal=_leaf(connector, "SignalState"),
            type=_leaf(connector, "Type"),
        )
        for number, connector in sorted(instances(_node(tree, "Video", "Input", "Connector")).items())
    ]
    sip = [status for r in instances(_node(tree, "SIP", "Registration")).values() if (status := _leaf(r, "Status"))]
    diagnostics = [
        Diagnostic(level=_leaf(m, "Level") or "Unknown", type=_leaf(m, "Type"), description=_leaf(m, "Description"))
        for _, m in sorted(instances(_node(tree, "Diagnostics", "Message")).items())
    ]
    return CodecStatus(
        product=_leaf(unit, "ProductId"),
        software=_leaf(_node(unit, "Software"), "Version"),
        system_state=_leaf(state, "System") or ("InCall" if active else "Idle"),
        active_calls=active,
        temperature=_leaf(_node(unit, "Hardware", "Monitoring", "Temperature"), "Status"),
        calls=calls,
        media=media,
        video_inputs=inputs,
        registration={"sip": sip[0] if sip else None, "h323": _leaf(_node(tree, "H323", "Gatekeeper"), "Status")},
        diagnostics=diagnostics,
    )
