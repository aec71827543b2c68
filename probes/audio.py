"""Art. 17 verdicts on the uplink sound: loud (洪亮), clear (清楚), free of noise (无杂音).

Thresholds and why they sit where they do: docs/audio.md. Verdicts use Band hysteresis, so a
level hovering at a threshold does not flap between windows.

The daemon also hands in the onset check of the newest sound (probes/audio_onset.py) twice a
second: `onset` raises digital silence or hum at once, with the window's codes and thresholds,
and only ever makes a verdict worse; the window's judgement takes the onset into account (the
worse of the two), so clearing waits for the window and the two never contradict each other.
"""

from __future__ import annotations

from contract.catalog import Catalog
from contract.findings import Article, Finding, Verdict, severity_rank
from probes.audio_metrics import AudioMetrics
from probes.audio_onset import OnsetMetrics
from probes.audio_thresholds import AudioThresholds
from probes.hysteresis import Band

AUDIO_MESSAGES = Catalog(
    {
        "audio.level.ok": ("声音洪亮适中（响度 {value:.1f} LUFS）", "sound level good (loudness {value:.1f} LUFS)"),
        "audio.level.quiet": (
            "声音偏小：响度 {value:.1f} LUFS（应不低于 {threshold:.0f}），请调高话筒或调音台增益",
            "sound too quiet: {value:.1f} LUFS (should be at least {threshold:.0f}); raise the mic or mixer gain",
        ),
        "audio.level.loud": (
            "声音过大：响度 {value:.1f} LUFS（应不高于 {threshold:.0f}）",
            "sound too loud: {value:.1f} LUFS (should be at most {threshold:.0f})",
        ),
        "audio.level.clipping": (
            "声音削波失真：{value:.2%} 的采样达到满幅，请降低增益",
            "sound clipping: {value:.2%} of samples at full scale; lower the gain",
        ),
        "audio.level.no_speech": ("未检测到讲话声", "no speech detected"),
        "audio.clarity.ok": ("声音清楚（信噪比 {value:.0f} dB）", "sound is clear (SNR {value:.0f} dB)"),
        "audio.clarity.low_snr": (
            "声音不清楚：信噪比 {value:.0f} dB（应不低于 {threshold:.0f} dB）",
            "sound not clear: SNR {value:.0f} dB (should be at least {threshold:.0f} dB)",
        ),
        "audio.clarity.unknown": ("无讲话，无法评估清晰度", "no speech: clarity cannot be judged"),
        "audio.noise.ok": ("无明显杂音（底噪 {value:.0f} dBFS）", "no audible noise (noise floor {value:.0f} dBFS)"),
        "audio.noise.hum": (
            "有 {hz:.0f} Hz 交流哼声（高出周围 {value:.0f} dB），请检查接地与线缆",
            "{hz:.0f} Hz mains hum ({value:.0f} dB above its surroundings): check grounding and cables",
        ),
        "audio.noise.floor": (
            "底噪过高：{value:.0f} dBFS（应不高于 {threshold:.0f}）",
            "noise floor too high: {value:.0f} dBFS (should be at most {threshold:.0f})",
        ),
        "audio.noise.dropouts": ("声音断续：{value} 次中断", "sound drops out: {value} gap(s)"),
        "audio.signal.ok": ("音频输入正常", "audio input present"),
        "audio.signal.none": ("无音频输入：{detail}", "no audio input: {detail}"),
        "audio.signal.silent": ("音频输入无声（数字静音）", "audio input is digital silence"),
    }
)


def _finding(check: str, verdict: Verdict, code: str, value=None, threshold=None, unit=None, **fields) -> Finding:
    return AUDIO_MESSAGES.finding(check, verdict, code, Article.ART17, value, threshold, unit, **fields)


class AudioJudge:
    """Turns one window's metrics into findings, remembering the previous verdicts (hysteresis)
    and the verdict last given per check (so the onset check raises only what is news)."""

    def __init__(self, thresholds: AudioThresholds, subject: str | None = None):
        self.t = thresholds
        self.subject = subject
        self.previous: dict[str, Verdict] = {}
        self.given: dict[str, Verdict] = {}

    def _band(self, key: str, band: Band, value: float) -> Verdict:
        verdict = band.judge(value, self.previous.get(key))
        self.previous[key] = verdict
        return verdict

    def _bands(self, candidates: list[tuple[str, Band, float, str, float, float]]) -> tuple[Verdict, str, float, float]:
        """The worst of several (key, band, value, code, warn, fail); returns verdict, code, value, threshold."""
        results = []
        for key, band, value, code, warn, fail in candidates:
            verdict = self._band(key, band, value)
            results.append((verdict, code, value, fail if verdict is Verdict.FAIL else warn))
        return max(results, key=lambda item: severity_rank(item[0]))

    def _hum_band(self) -> Band:
        return Band(self.t.hum_warn_db, self.t.hum_fail_db, low=False, margin=self.t.hysteresis)

    def onset(self, onset: OnsetMetrics) -> list[Finding]:
        """Findings the newest sound makes worse than the last verdicts given: reported now, not at
        the next window. Never an improvement: clearing is the window's (`findings`)."""
        raised = []
        if onset.digital_silence and self.given.get("audio.signal") is not Verdict.FAIL:
            raised.append(_finding("audio.signal", Verdict.FAIL, "audio.signal.silent"))
        verdict = self._band("onset_hum", self._hum_band(), onset.hum_db)
        if severity_rank(verdict) > severity_rank(self.given.get("audio.noise", Verdict.OK)):
            threshold = self.t.hum_fail_db if verdict is Verdict.FAIL else self.t.hum_warn_db
            hz = onset.hum_hz or self.t.mains_hz
            raised.append(_finding("audio.noise", verdict, "audio.noise.hum", round(onset.hum_db, 1), threshold, hz=hz))
        return self._with_subject(raised)

    def findings(
        self, metrics: AudioMetrics | None, signal_error: str | None = None, onset: OnsetMetrics | None = None
    ) -> list[Finding]:
        """The window's findings; with `onset` (the newest sound's, daemon only) the worse of the two."""
        t, h = self.t, self.t.hysteresis
        if metrics is None or signal_error is not None:
            detail = signal_error or "no samples"
            lost = [_finding("audio.signal", Verdict.FAIL, "audio.signal.none", detail=detail)]
            lost += [
                _finding(check, Verdict.UNKNOWN, "audio.signal.none", detail=detail)
                for check in ("audio.level", "audio.clarity", "audio.noise")
            ]
            return self._with_subject(lost)
        if metrics.digital_silence or (onset is not None and onset.digital_silence):
            signal = _finding("audio.signal", Verdict.FAIL, "audio.signal.silent")
        else:
            signal = _finding("audio.signal", Verdict.OK, "audio.signal.ok")
        findings = [signal]
        speaking = metrics.speech_frac >= t.min_speech_frac and metrics.integrated_lufs is not None
        clipping = self._bands(
            [
                (
                    "clipping",
                    Band(t.clipping_warn_frac, t.clipping_fail_frac, low=False, margin=h),
                    metrics.clipping_frac,
                    "audio.level.clipping",
                    t.clipping_warn_frac,
                    t.clipping_fail_frac,
                )
            ]
        )
        if speaking:
            level = self._bands(
                [
                    (
                        "quiet",
                        Band(t.quiet_warn_lufs, t.quiet_fail_lufs, low=True, margin=h),
                        metrics.integrated_lufs,
                        "audio.level.quiet",
                        t.quiet_warn_lufs,
                        t.quiet_fail_lufs,
                    ),
                    (
                        "loud",
                        Band(t.loud_warn_lufs, t.loud_fail_lufs, low=False, margin=h),
                        metrics.integrated_lufs,
                        "audio.level.loud",
                        t.loud_warn_lufs,
                        t.loud_fail_lufs,
                    ),
                ]
            )
            verdict, code, value, threshold = max([level, clipping], key=lambda item: severity_rank(item[0]))
            if verdict is Verdict.OK:
                code, value, threshold = "audio.level.ok", metrics.integrated_lufs, t.quiet_warn_lufs
            findings.append(_finding("audio.level", verdict, code, round(value, 4), threshold, None))
        elif clipping[0] is not Verdict.OK:
            findings.append(_finding("audio.level", clipping[0], clipping[1], round(clipping[2], 4), clipping[3]))
        else:
            findings.append(
                _finding("audio.level", Verdict.WARN, "audio.level.no_speech", metrics.speech_frac, t.min_speech_frac)
            )
        if speaking and metrics.snr_db is not None:
            verdict = self._band("snr", Band(t.snr_warn_db, t.snr_fail_db, low=True, margin=h), metrics.snr_db)
            code = "audio.clarity.ok" if verdict is Verdict.OK else "audio.clarity.low_snr"
            threshold = t.snr_fail_db if verdict is Verdict.FAIL else t.snr_warn_db
            findings.append(_finding("audio.clarity", verdict, code, round(metrics.snr_db, 1), threshold, "dB"))
        else:
            findings.append(_finding("audio.clarity", Verdict.UNKNOWN, "audio.clarity.unknown"))
        floor = metrics.noise_floor_dbfs if metrics.noise_floor_dbfs is not None else -120.0
        hum_hz = metrics.hum_hz
        onset_hum = []
        if onset is not None:  # judged again with its own memory: the same verdict `onset` gave
            onset_hum = [("onset_hum", self._hum_band(), onset.hum_db, "audio.noise.hum", t.hum_warn_db, t.hum_fail_db)]
            hum_hz = hum_hz or onset.hum_hz
        verdict, code, value, threshold = self._bands(
            [
                ("hum", self._hum_band(), metrics.hum_db, "audio.noise.hum", t.hum_warn_db, t.hum_fail_db),
                *onset_hum,
                (
                    "floor",
                    Band(t.noise_floor_warn_dbfs, t.noise_floor_fail_dbfs, low=False, margin=h),
                    floor,
                    "audio.noise.floor",
                    t.noise_floor_warn_dbfs,
                    t.noise_floor_fail_dbfs,
                ),
                (
                    "dropouts",
                    Band(t.dropouts_warn - 0.5, t.dropouts_fail - 0.5, low=False, margin=0),
                    metrics.dropouts,
                    "audio.noise.dropouts",
                    t.dropouts_warn,
                    t.dropouts_fail,
                ),
            ]
        )
        if verdict is Verdict.OK:
            findings.append(
                _finding("audio.noise", verdict, "audio.noise.ok", round(floor, 1), t.noise_floor_warn_dbfs, "dBFS")
            )
        else:
            findings.append(
                _finding(
                    "audio.noise",
                    verdict,
                    code,
                    round(value, 1) if code != "audio.noise.dropouts" else int(value),
                    threshold,
                    hz=hum_hz or t.mains_hz,
                )
            )
        return self._with_subject(findings)

    def _with_subject(self, findings: list[Finding]) -> list[Finding]:
        for finding in findings:
            finding.subject = self.subject
            self.given[finding.check] = finding.verdict
        return findings
