"""What a config reload keeps of the status board: standing findings stay standing.

A reload restarts every monitor. Were the board emptied, each monitor's first report would look like
a check seen for the first time (`previous: null`) and raise its event again: a hum alert would fire
on every `systemctl reload`. So the board keeps its findings across the reload; a new report then
raises an event only when its verdict differs from the standing one. What the new config no longer
has is dropped at once (a source switched off, a device taken out of its list), and whatever else the
new monitors do not confirm within their longest round (an uplink no longer configured, a video input
renamed) is dropped when that time is up.
"""

from __future__ import annotations

from agent.config.models import Settings
from agent.reporting.board import StatusBoard
from agent.sources import SOURCES

CONFIRM_SLACK_S = 30.0  # beyond two rounds of the slowest monitor: a reload restarts them all at once


def carry_over(board: StatusBoard, old: Settings, new: Settings) -> set[str]:
    """Forget the checks of sources and devices `new` no longer has; the keys carried over."""
    for source in SOURCES:
        if source.configured(old) and not source.configured(new):
            board.forget(source.check_prefix)
        elif source.subjects is not None:
            for subject in source.subjects(old) - source.subjects(new):
                board.forget(source.check_prefix, subject)
    return set(board.checks)


def confirm_within_s(settings: Settings) -> float:
    """How long the new monitors may take to report every check once (twice their slowest round)."""
    rounds: list[float] = [0.0]
    if settings.host.enabled:
        rounds.append(settings.host.interval_s)
    snmp = settings.snmp
    per_try = snmp.timeout_s * (snmp.retries + 1)
    rounds += [(device.interval_s or snmp.interval_s) + per_try for device in snmp.devices]
    ssh = settings.ssh
    per_session = ssh.connect_timeout_s + ssh.command_timeout_s
    rounds += [(device.interval_s or ssh.interval_s) + per_session for device in ssh.devices]
    if settings.video is not None:
        rounds.append(settings.video.framing_interval_s + 1 / settings.video.rate_hz)
    if settings.audio is not None:
        rounds.append(settings.audio.window_s + settings.audio.interval_s)
    if settings.simulation is not None:
        rounds.append(settings.simulation.flap_interval_s)
    return 2 * max(rounds) + CONFIRM_SLACK_S
