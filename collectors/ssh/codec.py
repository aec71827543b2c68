"""From a Cisco codec's xAPI status answers to a CodecStatus (call, media, inputs, registration…).

The commands (one status subtree each) are in profiles/cisco_tp.yaml.
"""

from __future__ import annotations

from collectors.ssh.readings import CodecCall, CodecStatus, Diagnostic, MediaChannel, VideoInput
from collectors.ssh.xapi import Tree, instances, parse, subtree


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _float(value: object) -> float | None:
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None


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
    """Loss over the last interval when the codec gives it, else over the whole call."""
    lost, received = _int(netstat.get("LastIntervalLost")), _int(netstat.get("LastIntervalReceived"))
    if lost is not None and received is not None and lost + received > 0:
        return 100.0 * lost / (lost + received)
    lost, packets = _int(netstat.get("Loss")), _int(netstat.get("Packets"))
    if lost is not None and packets:
        return 100.0 * lost / (lost + packets)
    return None


def codec_status(tree: Tree) -> CodecStatus:
    unit = subtree(tree, "SystemUnit") or {}
    state = subtree(unit, "State") or {}
    active = _int(state.get("NumberOfActiveCalls")) or 0
    calls = [
        CodecCall(
            id=call_id,
            status=str(call.get("Status", "Unknown")),
            direction=call.get("Direction"),
            protocol=str(call["Protocol"]).lower() if "Protocol" in call else None,
            remote=call.get("RemoteNumber") or call.get("CallbackNumber"),
            duration_s=_int(call.get("Duration")),
            tx_rate_kbps=_int(call.get("TransmitCallRate")),
            rx_rate_kbps=_int(call.get("ReceiveCallRate")),
        )
        for call_id, call in sorted(instances(subtree(tree, "Call")).items())
    ]
    media = []
    for call_id, call in sorted(instances(subtree(tree, "MediaChannels", "Call")).items()):
        for channel_id, channel in sorted(instances(subtree(call, "Channel")).items()):
            netstat = subtree(channel, "Netstat") or {}
            media.append(
                MediaChannel(
                    call=call_id,
                    channel=channel_id,
                    direction=channel.get("Direction"),
                    type=channel.get("Type"),
                    loss_pct=loss_pct(netstat),
                    jitter_ms=_float(netstat.get("Jitter")),
                )
            )
    inputs = [
        VideoInput(
            connector=number,
            connected={"True": True, "False": False}.get(str(connector.get("Connected"))),
            signal=connector.get("SignalState"),
            type=connector.get("Type"),
        )
        for number, connector in sorted(instances(subtree(tree, "Video", "Input", "Connector")).items())
    ]
    sip = [str(r.get("Status")) for r in instances(subtree(tree, "SIP", "Registration")).values() if "Status" in r]
    h323 = subtree(tree, "H323", "Gatekeeper", "Status")
    diagnostics = [
        Diagnostic(level=str(m.get("Level", "Unknown")), type=m.get("Type"), description=m.get("Description"))
        for _, m in sorted(instances(subtree(tree, "Diagnostics", "Message")).items())
    ]
    temperature = subtree(unit, "Hardware", "Monitoring", "Temperature", "Status")
    return CodecStatus(
        product=unit.get("ProductId"),
        software=subtree(unit, "Software", "Version"),
        system_state=state.get("System") or ("InCall" if active else "Idle"),
        active_calls=active,
        temperature=temperature if isinstance(temperature, str) else None,
        calls=calls,
        media=media,
        video_inputs=inputs,
        registration={"sip": sip[0] if sip else None, "h323": h323 if isinstance(h323, str) else None},
        diagnostics=diagnostics,
    )
