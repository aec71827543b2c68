"""Judges the path to the conference's far end (Art. 13: keep the private network open)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from collectors.net.path import PathReading, PortReading
from contract.catalog import Catalog
from contract.findings import Article, Finding, Verdict, worst
from probes.hysteresis import Band

NET_MESSAGES = Catalog(
    {
        "net.path.ok": (
            "到 {target} 的链路正常：时延 {latency:.1f} ms，丢包 {loss:.1f}%，抖动 {jitter:.1f} ms",
            "path to {target} ok: latency {latency:.1f} ms, loss {loss:.1f} %, jitter {jitter:.1f} ms",
        ),
        "net.path.degraded": (
            "到 {target} 的链路质量差：时延 {latency:.1f} ms，丢包 {loss:.1f}%，抖动 {jitter:.1f} ms",
            "path to {target} degraded: latency {latency:.1f} ms, loss {loss:.1f} %, jitter {jitter:.1f} ms",
        ),
        "net.path.down": ("到 {target} 不通：{detail}", "no path to {target}: {detail}"),
        "net.port.open": ("{target} 的 {name} 端口 {port} 可达", "{name} port {port} on {target} answers"),
        "net.port.closed": (
            "{target} 的 {name} 端口 {port} 不可达：{detail}",
            "{name} port {port} on {target} does not answer: {detail}",
        ),
    }
)


class NetThresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_warn_ms: float = Field(default=150, description="ITU-T G.114: one way under 150 ms is good for talk")
    latency_fail_ms: float = Field(default=400)
    loss_warn_pct: float = Field(default=1)
    loss_fail_pct: float = Field(default=5)
    jitter_warn_ms: float = Field(default=30)
    jitter_fail_ms: float = Field(default=50)


def judge_path(reading: PathReading, t: NetThresholds) -> Finding:
    if reading.error or not reading.received:
        detail = reading.error or f"all {reading.sent} probes lost"
        return NET_MESSAGES.finding(
            "net.path",
            Verdict.FAIL,
            "net.path.down",
            Article.ART13,
            100.0,
            t.loss_fail_pct,
            "%",
            reading.target,
            target=reading.target,
            detail=detail,
        )
    loss, latency, jitter = reading.loss_pct or 0.0, reading.latency_ms or 0.0, reading.jitter_ms or 0.0
    verdicts = [
        Band(t.loss_warn_pct, t.loss_fail_pct, low=False).raw(loss),
        Band(t.latency_warn_ms, t.latency_fail_ms, low=False).raw(latency),
        Band(t.jitter_warn_ms, t.jitter_fail_ms, low=False).raw(jitter),
    ]
    verdict = worst(verdicts)
    code = "net.path.ok" if verdict is Verdict.OK else "net.path.degraded"
    return NET_MESSAGES.finding(
        "net.path",
        verdict,
        code,
        Article.ART13,
        round(loss, 1),
        t.loss_warn_pct,
        "%",
        reading.target,
        target=reading.target,
        latency=latency,
        loss=loss,
        jitter=jitter,
    )


def judge_port(target: str, reading: PortReading) -> Finding:
    verdict, code = (Verdict.OK, "net.port.open") if reading.open else (Verdict.FAIL, "net.port.closed")
    return NET_MESSAGES.finding(
        f"net.port.{reading.port}",
        verdict,
        code,
        Article.ART13,
        reading.open,
        None,
        None,
        target,
        target=target,
        name=reading.name,
        port=reading.port,
        detail=reading.error,
    )
