"""probes/dsp.py against SciPy, the library it stands in for in the daemon (#15 item 6).

SciPy stays a test dependency for exactly this: every primitive the audio checks use is compared
with the SciPy call it replaced, on random signals (several rates, odd lengths, streamed in odd
pieces, non-zero initial state) and on real ones (espeak-ng speech over a room, alsa-utils' spoken
WAV), and the loudness the probes compute with it with the loudness SciPy's filter gives.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile

from probes import audio_noise, dsp
from probes.audio_metrics import k_weighting, loudness
from tests.audio_media import ALSA_SOUNDS, RATE, needs_espeak, room, with_hum

signal = pytest.importorskip("scipy.signal")
stats = pytest.importorskip("scipy.stats")

RATES = [8000, 16000, 44100, 48000, 96000, 192000]


def real_signals() -> dict[str, tuple[np.ndarray, int]]:
    found: dict[str, tuple[np.ndarray, int]] = {}
    if (ALSA_SOUNDS / "Front_Center.wav").exists():
        data, rate = soundfile.read(str(ALSA_SOUNDS / "Front_Center.wav"), dtype="float64", always_2d=True)
        found["alsa Front_Center.wav"] = (data[:, 0], rate)
    return found


def relative_error(ours: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


@pytest.mark.parametrize("rate", RATES)
def test_k_weighting_equals_scipy_sosfilt_on_noise_with_a_dc_offset(rate):
    noise = np.random.default_rng(rate).standard_normal(3 * rate + 77) * 0.1 + 0.05
    sos = k_weighting(rate)
    ours, final = dsp.sosfilt(sos, noise)
    reference, reference_final = signal.sosfilt(sos, noise, zi=np.zeros((2, 2)))
    assert relative_error(ours, reference) < 1e-8
    assert np.allclose(final, reference_final, rtol=1e-7, atol=1e-12)
    assert ours.dtype == np.float64


GROUP = dsp.BLOCK * dsp.GROUP  # samples
CHUNK = GROUP * dsp.CHUNK_GROUPS


@pytest.mark.parametrize(
    "count",
    [1, 3, dsp.BLOCK - 1, dsp.BLOCK, dsp.BLOCK + 1, GROUP - 1, GROUP, GROUP + 7, CHUNK, CHUNK + 5, 3 * CHUNK - 9],
)
def test_block_edges_and_short_inputs_are_exact(count):
    """Lengths at and around a block, a group of blocks and a chunk: where the state changes hands."""
    noise = np.random.default_rng(count).standard_normal(count)
    sos = k_weighting(RATE)
    start = np.array([[0.3, -0.2], [0.1, 0.05]])
    ours, final = dsp.sosfilt(sos, noise, start)
    reference, reference_final = signal.sosfilt(sos, noise, zi=start)
    assert ours.shape == reference.shape
    assert relative_error(ours, reference) < 1e-8
    assert np.allclose(final, reference_final, rtol=1e-7, atol=1e-12)


def test_no_samples_give_no_output_and_keep_the_state():
    """(SciPy raises on an empty array; the streaming loudness may be handed an empty block.)"""
    start = np.array([[0.3, -0.2], [0.1, 0.05]])
    ours, final = dsp.sosfilt(k_weighting(RATE), np.zeros(0), start)
    assert ours.shape == (0,)
    assert np.array_equal(final, start)


def test_streamed_in_odd_pieces_equals_one_pass():
    noise = np.random.default_rng(7).standard_normal(10 * RATE)
    sos = k_weighting(RATE)
    reference, _ = signal.sosfilt(sos, noise, zi=np.zeros((2, 2)))
    state = np.zeros((2, 2))
    pieces = []
    for piece in np.array_split(noise, [1, 2, 100, 4095, 4096, 70000, 70001, 300000]):
        out, state = dsp.sosfilt(sos, piece, state)
        pieces.append(out)
    assert relative_error(np.concatenate(pieces), reference) < 1e-8


def test_any_biquad_cascade_not_only_k_weighting():
    sos = signal.butter(6, [300, 3400], btype="bandpass", fs=RATE, output="sos")
    noise = np.random.default_rng(11).standard_normal(RATE + 3)
    ours, _ = dsp.sosfilt(sos, noise)
    assert relative_error(ours, signal.sosfilt(sos, noise)) < 1e-8


def test_float32_samples_are_filtered_at_least_as_closely_as_scipy_does_in_float32():
    noise = np.random.default_rng(5).standard_normal(10 * RATE).astype(np.float32) * 0.3
    sos = k_weighting(RATE)
    exact = signal.sosfilt(sos, noise.astype(np.float64))
    ours, _ = dsp.sosfilt(sos, noise)
    theirs = signal.sosfilt(sos.astype(np.float32), noise)
    assert ours.dtype == np.float32
    assert relative_error(ours, exact) < 1e-5
    assert np.abs(ours - exact).max() <= np.abs(theirs - exact).max()


def test_a_section_whose_a0_is_not_one_is_refused():
    with pytest.raises(ValueError, match="a0 = 1"):
        dsp.sosfilt(np.array([[1.0, 0.0, 0.0, 2.0, 0.0, 0.0]]), np.ones(10))


@needs_espeak
def test_loudness_of_real_speech_equals_the_scipy_filtered_loudness():
    """The figure the probes report: BS.1770 on SciPy's filter output, computed here, against ours."""
    for samples, rate in [(room().astype(np.float32), RATE), *real_signals().values()]:
        samples = np.asarray(samples, np.float32)
        integrated, momentary, _ = loudness(samples, rate)
        weighted = signal.sosfilt(k_weighting(rate), samples.astype(np.float64))
        hop = round(rate * 0.1)
        hops = len(weighted) // hop
        energy = np.mean(weighted[: hops * hop].reshape(hops, hop) ** 2, axis=1)
        blocks = np.convolve(energy, np.ones(4) / 4, mode="valid")
        with np.errstate(divide="ignore"):
            levels = -0.691 + 10 * np.log10(blocks)
        above = blocks[levels > -70]
        gate = -0.691 + 10 * math.log10(above.mean()) - 10
        expected = -0.691 + 10 * math.log10(blocks[(levels > -70) & (levels > gate)].mean())
        assert integrated == pytest.approx(expected, abs=0.001)
        finite = np.isfinite(levels)
        assert np.allclose(momentary[finite], levels[finite], atol=0.001)


@pytest.mark.parametrize(("nperseg", "noverlap"), [(48000, 24000), (48000, 0), (1001, 500), (1024, 1023), (7, 3)])
def test_welch_equals_scipy_welch_with_the_defaults_used(nperseg, noverlap):
    # Up to 5 s, but no more than ~200 segments: 5 s at a one-sample step is 240,000 of them (15 s of test).
    length = min(5 * RATE, 200 * (nperseg - noverlap) + nperseg) + 13
    noise = np.random.default_rng(nperseg).standard_normal(length) + 0.2
    freqs, power = dsp.welch(noise, RATE, nperseg=nperseg, noverlap=noverlap)
    expected_freqs, expected = signal.welch(noise, fs=RATE, nperseg=nperseg, noverlap=noverlap, window="hann")
    assert np.array_equal(freqs, expected_freqs)
    assert np.allclose(power, expected, rtol=1e-10, atol=0)


def test_welch_of_a_recording_shorter_than_a_segment_uses_the_whole_recording_as_scipy_does():
    noise = np.random.default_rng(2).standard_normal(3000)
    freqs, power = dsp.welch(noise, RATE, nperseg=RATE, noverlap=0)
    with pytest.warns(UserWarning):
        expected_freqs, expected = signal.welch(noise, fs=RATE, nperseg=RATE, noverlap=0, window="hann")
    assert np.array_equal(freqs, expected_freqs)
    assert np.allclose(power, expected, rtol=1e-10, atol=0)


@needs_espeak
def test_welch_of_real_speech_with_hum_equals_scipy_welch_in_float32():
    """The hum check's input: float32 samples (SciPy computed them in float32, dsp in float64)."""
    hummed = np.clip(with_hum(room(), -45.0), -1, 1).astype(np.float32)
    for samples, rate in [(hummed, RATE), *((s.astype(np.float32), r) for s, r in real_signals().values())]:
        _, power = dsp.welch(samples, rate, nperseg=rate, noverlap=rate // 2)
        _, expected = signal.welch(samples.astype(np.float64), fs=rate, nperseg=rate, noverlap=rate // 2, window="hann")
        assert np.allclose(power, expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("q", [1e-6, 0.001, 0.01, 0.03, 0.1, 0.5, 0.9, 0.999])
def test_chi2_quantiles_equal_scipy(q):
    for dof in [0.1, 0.5, 1, 2, 2.5, 3, 5, 10, 15, 20, 33, 50, 100, 140, 610, 1000, 5000, 1e5]:
        assert dsp.chi2_ppf(q, dof) == pytest.approx(stats.chi2.ppf(q, dof), rel=1e-11), (q, dof)


@pytest.mark.parametrize("rate", RATES)
def test_the_noise_estimators_bias_correction_equals_scipys(rate):
    layout = audio_noise._layout(rate)
    widths = np.diff(np.append(layout.starts, layout.size // 2 + 1))
    dof = np.maximum(widths * audio_noise.SMOOTH_FRAMES, 2).astype(np.float64)
    expected = np.array([stats.chi2.ppf(q, dof) / dof for q in audio_noise.QUANTILES])
    assert np.allclose(layout.correction, expected, rtol=1e-11, atol=0)


def test_bad_quantiles_are_refused():
    for q, dof in [(0.0, 5), (1.0, 5), (0.5, 0)]:
        with pytest.raises(ValueError):
            dsp.chi2_ppf(q, dof)
