"""What the simulated devices print: written from the vendors' public documentation of each command
(Cisco RoomOS/TC API reference guides, Huawei VRP and H3C Comware command references, Cisco IOS
command references), with the layout, headers and legends those documents show."""

from __future__ import annotations

from dataclasses import dataclass, field

from collectors.ssh.xapi import Quoted, Tree


@dataclass
class Port:
    name: str
    up: bool = True
    admin_up: bool = True
    in_errors: int = 0
    out_errors: int = 0
    description: str = ""


@dataclass
class GearState:
    """A switch: its ports and its CPU load."""

    hostname: str
    ports: list[Port]
    cpu_pct: int = 9


@dataclass
class CodecState:
    """A Cisco codec: the call to the MCU, its media, inputs, registration and diagnostics."""

    system_name: str = "SX80-Nongan"
    in_call: bool = True
    call_duration_s: int = 1260
    remote: str = "8001@mcu.jl.gov.cn"
    loss_pct: float = 0.0  # incoming video, last interval
    jitter_ms: int = 4
    camera_connected: bool = True
    camera_signal: str = "OK"  # OK / Unsupported / Unknown
    sip_status: str = "Registered"  # Registered / Failed / Registering / Deregister / Inactive
    h323_status: str = "Inactive"
    diagnostics: list[tuple[str, str, str]] = field(default_factory=list)  # (level, type, description)
    temperature_status: str = "Normal"  # Normal / High / Critical
    software: str = "ce9.15.3.17"  # "TC7.3.6.ac4ec6c" makes it speak the TC dialect (tc_codec_tree)


# What a TC codec's hottest sensor reads for each CE temperature word, against its shutdown point
# (TemperatureThreshold): the same state gives the same ssh.temperature verdict on both lines.
TC_TEMPERATURE_LIMIT_C = 85.0
TC_TEMPERATURE_FOR = {"Normal": 47.0, "High": 80.0, "Critical": 86.0}


def codec_tree(state: CodecState) -> Tree:
    """The codec's status tree in the dialect its software speaks."""
    return tc_codec_tree(state) if state.software.lower().startswith("tc") else ce_codec_tree(state)


def ce_codec_tree(state: CodecState) -> Tree:
    """A CE 9 / RoomOS codec's whole status tree, as `xStatus` would print it (a subset of the real one)."""
    tree: Tree = {
        "SystemUnit": {
            "ProductId": Quoted("Cisco TelePresence SX80"),
            "ProductPlatform": Quoted("SX80"),
            "Software": {"Version": Quoted(state.software), "DisplayName": Quoted("ce 9.15.3")},
            "Uptime": "864000",
            "Hardware": {"Monitoring": {"Temperature": {"Status": state.temperature_status}}},
            "State": {
                "NumberOfActiveCalls": "1" if state.in_call else "0",
                "NumberOfInProgressCalls": "0",
                "NumberOfSuspendedCalls": "0",
                "System": "InCall" if state.in_call else "Initialized",
            },
        },
        "SIP": {
            "Registration": {
                1: {
                    "Status": state.sip_status,
                    "Reason": Quoted("" if state.sip_status == "Registered" else "408 Request Timeout"),
                    "URI": Quoted("nongan@jl.gov.cn"),
                }
            }
        },
        "H323": {"Gatekeeper": {"Status": state.h323_status, "Address": Quoted(""), "Reason": Quoted("")}},
        "Video": {
            "Input": {
                "Connector": {
                    1: {
                        "Connected": "True" if state.camera_connected else "False",
                        "SignalState": state.camera_signal if state.camera_connected else "Unknown",
                        "SourceId": "1",
                        "Type": "HDMI",
                    },
                    2: {"Connected": "False", "SignalState": "Unknown", "SourceId": "2", "Type": "HDMI"},
                },
                "MainVideoSource": "1",
            }
        },
        "Diagnostics": {
            "Message": {
                n: {"Description": Quoted(text), "Level": level, "References": Quoted(""), "Type": kind}
                for n, (level, kind, text) in enumerate(state.diagnostics, start=1)
            }
        },
    }
    if state.in_call:
        tree["Call"] = {
            3: {
                "AnswerState": "Answered",
                "CallType": "Video",
                "CallbackNumber": Quoted(f"sip:{state.remote}"),
                "DeviceType": "MCU",
                "Direction": "Outgoing",
                "DisplayName": Quoted("吉林省视频会议MCU"),
                "Duration": str(state.call_duration_s),
                "Encryption": {"Type": Quoted("Aes-128")},
                "PlacedOnHold": "False",
                "Protocol": Quoted("sip"),
                "ReceiveCallRate": "1920",
                "RemoteNumber": Quoted(state.remote),
                "Status": "Connected",
                "TransmitCallRate": "1920",
            }
        }
        received = 6000
        lost = round(received * state.loss_pct / (100 - state.loss_pct)) if state.loss_pct < 100 else received
        channels = {}
        for channel, (direction, kind) in enumerate(
            [("Incoming", "Audio"), ("Outgoing", "Audio"), ("Incoming", "Video"), ("Outgoing", "Video")], start=10
        ):
            incoming_video = direction == "Incoming" and kind == "Video"
            channels[channel] = {
                "Direction": direction,
                "Type": kind,
                "Encryption": "On",
                "Netstat": {
                    "Bytes": "123456789",
                    "ChannelRate": "1856000" if kind == "Video" else "64000",
                    "Jitter": str(state.jitter_ms),
                    "LastIntervalLost": str(lost if incoming_video else 0),
                    "LastIntervalReceived": str(received),
                    "Loss": str(lost * 3 if incoming_video else 0),
                    "MaxJitter": str(state.jitter_ms * 2),
                    "Packets": str(received * 30),
                },
            }
        tree["MediaChannels"] = {"Call": {3: {"Channel": channels}}}
    return tree


def huawei_interface_brief(state: GearState) -> str:
    def phy(port: Port) -> str:
        return "*down" if not port.admin_up else ("up" if port.up else "down")

    def uti(port: Port) -> str:
        return "0.01%" if port.up and port.admin_up else "0%"

    rows = [
        f"{p.name:<28}{phy(p):<7}{phy(p):<9}{uti(p):<7}{uti(p):<8}{p.in_errors:<10}{p.out_errors}" for p in state.ports
    ]
    legend = [
        "PHY: Physical",
        "*down: administratively down",
        "^down: standby",
        "(l): loopback",
        "(s): spoofing",
        "(b): BFD down",
        "(e): ETHOAM down",
        "(dl): DLDP down",
        "(d): Dampening Suppressed",
        "InUti/OutUti: input utility/output utility",
        "Interface                   PHY   Protocol InUti OutUti   inErrors  outErrors",
    ]
    return "\r\n".join(legend + rows)


def huawei_cpu_usage(state: GearState) -> str:
    return "\r\n".join(
        [
            "CPU Usage Stat. Cycle: 60 (Second)",
            f"CPU Usage            : {state.cpu_pct}% Max: {min(100, state.cpu_pct + 21)}%",
            "CPU Usage Stat. Time : 2026-11-25  15:00:00",
            "CPU Usage Max. Time  : 2026-11-25  09:12:31",
            "",
            "ControlPlane",
            "ServiceName  UseRate",
            "SYSTEM       4%",
            "AAA          1%",
        ]
    )


def comware_interface_brief(state: GearState) -> str:
    lines = [
        "Brief information on interfaces in route mode:",
        "Link: ADM - administratively down; Stby - standby",
        "Protocol: (s) - spoofing",
        "Interface            Link Protocol Primary IP      Description",
        "InLoop0              UP   UP(s)    --",
        "NULL0                UP   UP(s)    --",
        "Vlan-interface1      UP   UP       10.22.1.2",
        "",
        "Brief information on interfaces in bridge mode:",
        "Link: ADM - administratively down; Stby - standby",
        "Speed: (a) - auto",
        "Duplex: (a)/A - auto; H - half; F - full",
        "Type: A - access; T - trunk; H - hybrid",
        "Interface            Link Speed   Duplex Type PVID Description",
    ]
    for port in state.ports:
        link = "ADM" if not port.admin_up else ("UP" if port.up else "DOWN")
        speed = "1G(a)" if port.up else "auto"
        duplex = "F(a)" if port.up else "A"
        lines.append(f"{port.name:<21}{link:<5}{speed:<8}{duplex:<7}A    1    {port.description}".rstrip())
    return "\r\n".join(lines)


def comware_cpu_usage(state: GearState) -> str:
    return "\r\n".join(
        [
            "Slot 1 CPU 0 CPU usage:",
            f"      {state.cpu_pct:>2}% in last 5 seconds",
            f"      {state.cpu_pct:>2}% in last 1 minute",
            f"      {max(0, state.cpu_pct - 1):>2}% in last 5 minutes",
        ]
    )


def ios_interfaces_status(state: GearState) -> str:
    lines = ["", "Port      Name               Status       Vlan       Duplex  Speed Type"]
    for port in state.ports:
        status = "disabled" if not port.admin_up else ("connected" if port.up else "notconnect")
        duplex, speed = ("a-full", "a-1000") if port.up else ("auto", "auto")
        lines.append(
            f"{port.name:<10}{port.description[:18]:<19}{status:<13}{'1':<11}{duplex:<8}{speed:<7}10/100/1000BaseTX"
        )
    return "\r\n".join(lines)


def ios_processes_cpu(state: GearState) -> str:
    rows = [
        (1, 4, 1005, 3, "0.00%", "0.00%", "0.00%", 0, "Chunk Manager"),
        (2, 7512, 281440, 26, "0.07%", "0.02%", "0.00%", 0, "Load Meter"),
        (3, 120, 55, 2181, "0.00%", "0.00%", "0.00%", 0, "Exec"),
    ]
    lines = [
        f"CPU utilization for five seconds: {state.cpu_pct}%/0%; one minute: {state.cpu_pct}%; "
        f"five minutes: {state.cpu_pct}%",
        " PID Runtime(ms)     Invoked      uSecs   5Sec   1Min   5Min TTY Process ",
    ]
    lines += [
        f"{pid:>4}{runtime:>12}{invoked:>12}{usecs:>11}{s5:>7}{m1:>7}{m5:>7}{tty:>4} {name} "
        for pid, runtime, invoked, usecs, s5, m1, m5, tty, name in rows
    ]
    return "\r\n".join(lines)


def _tc_netstat(received: int, lost: int, jitter_ms: int) -> Tree:
    """A TC channel's `Netstat 1` under `Diagnostics Call n Channels`: the TC1 C90 guide's leaves
    (Bytes, ChannelRate, Jitter, Loss, MaxJitter, Packets) and the last-interval counters the TC 7.1/
    7.2 SX80 guides list there (LastIntervalLost, LastIntervalReceived; one interval, a tenth of
    the call's packets, with the call's loss ratio)."""
    interval = received // 10
    return {
        1: {
            "Bytes": "123456789",
            "ChannelRate": "1856000",
            "Jitter": str(jitter_ms),
            "LastIntervalLost": str(lost // 10),
            "LastIntervalReceived": str(interval),
            "Loss": str(lost),
            "MaxJitter": str(jitter_ms * 2),
            "Packets": str(received),
        }
    }


def tc_codec_tree(state: CodecState) -> Tree:
    """A TC 7 codec (a C60: the C40/C60 TC7.0 guide's inputs) in the TC dialect: inputs named by
    connector type, SIP registration under `Profile 1`, media channels named by direction and
    type with their Netstat counters under `Diagnostics Call n Channels`, not under MediaChannels,
    diagnostics messages under `SystemUnit Diagnostics Message n`, the temperature in °C beside
    the shutdown threshold (docs/ssh.md)."""
    tree: Tree = {
        "SystemUnit": {
            "ProductId": Quoted("Cisco TelePresence Codec C60"),
            "ProductPlatform": Quoted("C60"),
            "Software": {"Version": Quoted(state.software), "Name": Quoted("s52000tc7_3_6.pkg")},
            "Uptime": "864000",
            "Hardware": {
                "Temperature": Quoted(f"{TC_TEMPERATURE_FOR.get(state.temperature_status, 47.0):.1f}"),
                "TemperatureThreshold": Quoted(f"{TC_TEMPERATURE_LIMIT_C:.0f}"),
            },
            "State": {
                "System": "InCall" if state.in_call else "Initialized",
                "NumberOfActiveCalls": "1" if state.in_call else "0",
                "NumberOfInProgressCalls": "0",
                "NumberOfSuspendedCalls": "0",
            },
            "Diagnostics": {
                "Message": {
                    n: {"Description": Quoted(text), "Level": level, "References": Quoted(""), "Type": kind}
                    for n, (level, kind, text) in enumerate(state.diagnostics, start=1)
                }
            },
        },
        "Diagnostics": {},  # the channels' Netstat, during a call (below)
        "SIP": {
            "Profile": {
                1: {
                    "Registration": {
                        1: {
                            "Status": state.sip_status,
                            "Reason": Quoted("" if state.sip_status == "Registered" else "408 Request Timeout"),
                            "URI": Quoted("nongan@jl.gov.cn"),
                        }
                    }
                }
            }
        },
        "H323": {"Gatekeeper": {"Status": state.h323_status, "Address": Quoted(""), "Reason": Quoted("")}},
        "Video": {
            "Input": {
                "Source": {
                    1: {"Resolution": {"Height": "1080", "Width": "1920", "RefreshRate": "60"}},
                    2: {"Resolution": {"Height": "0", "Width": "0", "RefreshRate": "0"}},
                },
                "HDMI": {
                    1: {
                        "Connected": "True" if state.camera_connected else "False",
                        "SignalState": state.camera_signal if state.camera_connected else "Unknown",
                    },
                    2: {"Connected": "False", "SignalState": "Unknown"},
                },
                "DVI": {
                    2: {"Connected": "False", "SignalState": "Unknown"},
                    3: {"Connected": "False", "SignalState": "Unknown"},
                },
                "Legacy": {3: {"Connected": "False", "SignalState": "Unknown"}},
            }
        },
    }
    if state.in_call:
        tree["Call"] = {
            3: {
                "Status": "Connected",
                "Direction": "Outgoing",
                "Protocol": Quoted("sip"),
                "RemoteNumber": Quoted(state.remote),
                "CallbackNumber": Quoted(f"sip:{state.remote}"),
                "DisplayName": Quoted("吉林省视频会议MCU"),
                "CallRate": "1920",
                "TransmitCallRate": "1920",
                "ReceiveCallRate": "1920",
                "Encryption": {"Type": Quoted("Aes-128")},
                "PlacedOnHold": "False",
                "Duration": str(state.call_duration_s),
            }
        }
        received = 180000
        lost = round(received * state.loss_pct / (100 - state.loss_pct)) if state.loss_pct < 100 else received
        call: Tree = {}
        counters: Tree = {}
        for channel, name in enumerate(
            ["IncomingAudioChannel", "OutgoingAudioChannel", "IncomingVideoChannel", "OutgoingVideoChannel"], start=10
        ):
            call[name] = {channel: {"Encryption": {"Status": "On"}}}
            lost_here = lost if name == "IncomingVideoChannel" else 0
            counters[name] = {channel: {"Netstat": _tc_netstat(received, lost_here, state.jitter_ms)}}
        tree["MediaChannels"] = {"Call": {3: call}}
        tree["Diagnostics"] = {"Call": {3: {"Channels": counters}}}
    return tree
