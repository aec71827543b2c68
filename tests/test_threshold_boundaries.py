"""One number, one verdict: a value exactly at a threshold is graded the same over SNMP, over SSH and
on the path to the far end (probes/grading.py: at the threshold counts as reached, as docs/snmp.md
says). Before, 5 % call loss failed over SNMP and only warned over SSH and on the path check, and
80 % CPU warned over SNMP and was ok over SSH."""

from __future__ import annotations

import pytest

from collectors.net.path import PathReading
from collectors.snmp.reading import Call, DeviceReading, EntityValue
from collectors.ssh.readings import CodecStatus, MediaChannel, SshReading
from contract.findings import Verdict
from probes import snmp, ssh
from probes.device_thresholds import DeviceThresholds, SshThresholds
from probes.net import NetThresholds, judge_path

T = DeviceThresholds()
SSH = SshThresholds()
NET = NetThresholds()


def snmp_call_loss(loss: float) -> Verdict:
    reading = DeviceReading(target="codec", reachable=True, calls=[Call(index="1", loss_rx_pct=loss)])
    return snmp.judge_calls("codec", reading, T).verdict


def ssh_call_loss(loss: float) -> Verdict:
    codec = CodecStatus(active_calls=1, media=[MediaChannel(call=1, channel=1, loss_pct=loss)])
    return ssh.judge_media("codec", codec, SSH).verdict


def path_loss(loss: float) -> Verdict:
    lost = round(loss)  # 100 probes: `loss` of them lost
    reading = PathReading(target="mcu", method="udp-echo", sent=100, rtts_ms=[None] * lost + [10.0] * (100 - lost))
    return judge_path(reading, NET).verdict


def snmp_cpu(pct: float) -> Verdict:
    reading = DeviceReading(target="sw", reachable=True, health={"cpu_pct": [EntityValue(entity="MPU", value=pct)]})
    return next(f for f in snmp.judge("sw", reading, T) if f.check == "snmp.cpu").verdict


def ssh_cpu(pct: float) -> Verdict:
    reading = SshReading(device="sw", target="sw", device_type="huawei", reachable=True, cpu_pct=pct)
    return next(f for f in ssh.judge(reading, SSH) if f.check == "ssh.cpu").verdict


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, Verdict.OK),
        (T.call_loss_warn_pct, Verdict.WARN),
        (3.0, Verdict.WARN),
        (T.call_loss_fail_pct, Verdict.FAIL),
    ],
)
def test_call_loss_at_each_threshold_gets_one_verdict_everywhere(value, expected):
    assert (NET.loss_warn_pct, NET.loss_fail_pct) == (T.call_loss_warn_pct, T.call_loss_fail_pct)
    assert {snmp_call_loss(value), ssh_call_loss(value), path_loss(value)} == {expected}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(T.cpu_warn_pct - 1, Verdict.OK), (T.cpu_warn_pct, Verdict.WARN), (T.cpu_fail_pct, Verdict.FAIL)],
)
def test_cpu_at_each_threshold_gets_one_verdict_over_snmp_and_ssh(value, expected):
    assert {snmp_cpu(value), ssh_cpu(value)} == {expected}
