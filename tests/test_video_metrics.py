"""Metrics and Art. 17 verdicts on real photographs under controlled distortions."""

from __future__ import annotations

import math
from itertools import pairwise

import cv2
import numpy as np
import pytest

from contract.findings import Verdict, severity_rank
from probes.hysteresis import Band
from probes.video import VideoJudge, VideoThresholds
from probes.video_framing import analyse, judge_framing
from probes.video_metrics import measure
from tests.video_media import PHOTOS, desaturated, gamma_gain, noisy, photo


def metrics_of(image):
    return measure(image)[0]


def verdicts_of(image) -> dict[str, Verdict]:
    judge = VideoJudge(VideoThresholds(window_s=math.inf))
    judge.add(0.0, metrics_of(image))
    return {f.check: f.verdict for f in judge.findings(0.0)}


def worse_or_equal(a: Verdict, b: Verdict) -> bool:
    return severity_rank(b) >= severity_rank(a)


@pytest.mark.parametrize("name", PHOTOS)
def test_originals_pass_article_17(name):
    assert set(verdicts_of(photo(name)).values()) == {Verdict.OK}


@pytest.mark.parametrize("name", PHOTOS)
def test_brightness_moves_with_gamma_and_gain(name):
    image = photo(name)
    levels = [
        gamma_gain(image, 2.4, 0.5),
        gamma_gain(image, 1.6, 0.8),
        image,
        gamma_gain(image, 0.7, 1.3, 20),
        gamma_gain(image, 0.5, 1.6, 40),
    ]
    means = [metrics_of(level).luma_mean for level in levels]
    assert means == sorted(means), means
    clipped = [metrics_of(level).clipped_high_frac for level in levels]
    assert clipped[-1] > clipped[2] and clipped[0] <= clipped[2]
    assert verdicts_of(levels[0])["video.brightness"] is not Verdict.OK  # much too dark
    assert verdicts_of(levels[-1])["video.brightness"] is not Verdict.OK  # much too bright / blown


@pytest.mark.parametrize("name", PHOTOS)
def test_sharpness_falls_with_blur_and_clarity_verdict_follows(name):
    image = photo(name)
    blurred = [image] + [cv2.GaussianBlur(image, (0, 0), sigma) for sigma in (1.0, 2.0, 3.0, 5.0)]
    scores = [metrics_of(b).sharpness for b in blurred]
    assert all(later < earlier for earlier, later in pairwise(scores)), scores
    verdicts = [verdicts_of(b)["video.clarity"] for b in blurred]
    assert all(worse_or_equal(a, b) for a, b in pairwise(verdicts)), verdicts
    assert verdicts[0] is Verdict.OK and verdicts[-1] is not Verdict.OK


@pytest.mark.parametrize("name", PHOTOS)
def test_noise_is_measured_and_never_rewarded_as_sharpness(name):
    image = photo(name)
    clean = metrics_of(image)
    levels = [metrics_of(noisy(image, sigma)) for sigma in (5, 10, 20, 30)]
    sigmas = [m.noise_sigma for m in levels]
    assert clean.noise_sigma < sigmas[0] and sigmas == sorted(sigmas), sigmas
    assert all(m.sharpness <= clean.sharpness + 1.0 for m in levels), [m.sharpness for m in levels]
    assert verdicts_of(noisy(image, 30))["video.clarity"] is Verdict.FAIL


@pytest.mark.parametrize("name", PHOTOS)
def test_colourfulness_falls_as_colour_is_removed(name):
    image = photo(name)
    keeps = (1.0, 0.6, 0.3, 0.1, 0.0)
    values = [metrics_of(desaturated(image, keep)) for keep in keeps]
    colour = [m.colourfulness for m in values]
    saturation = [m.saturation_mean for m in values]
    assert colour == sorted(colour, reverse=True) and saturation == sorted(saturation, reverse=True)
    assert colour[-1] < 1 and saturation[-1] < 0.01
    assert verdicts_of(desaturated(image, 0.0))["video.colour"] is Verdict.FAIL
    assert verdicts_of(image)["video.colour"] is Verdict.OK


def test_black_picture_fails_the_signal_check():
    black = np.full((720, 1280, 3), 6, np.uint8)
    metrics = metrics_of(black)
    assert metrics.black and metrics.black_frac == 1.0
    assert verdicts_of(black)["video.signal"] is Verdict.FAIL
    assert not metrics_of(photo("coffee")).black


def _signal_after(samples: list, whole_span: bool) -> str:
    judge = VideoJudge(VideoThresholds(window_s=10), whole_span=whole_span)
    for second, metrics in enumerate(samples):
        judge.add(float(second), metrics)
    return {f.check: f.code for f in judge.findings(float(len(samples) - 1))}["video.signal"]


def test_two_black_samples_are_black_in_the_daemon_one_is_not_and_a_probe_keeps_the_majority():
    good, black = metrics_of(photo("astronaut")), metrics_of(np.full((360, 640, 3), 6, np.uint8))
    # The daemon: eight good seconds, then the camera goes black.
    assert _signal_after([good] * 8 + [black], whole_span=False) == "video.signal.ok"  # a switcher's cut
    assert _signal_after([good] * 8 + [black] * 2, whole_span=False) == "video.signal.black"
    assert _signal_after([good] * 8 + [black, good], whole_span=False) == "video.signal.ok"  # it came back
    # A probe over a recording that fades out at its end: the majority decides.
    assert _signal_after([good] * 8 + [black] * 2, whole_span=True) == "video.signal.ok"
    assert _signal_after([good] * 2 + [black] * 8, whole_span=True) == "video.signal.black"


def test_luma_is_bt601_as_opencv_gray():
    bgr = np.zeros((32, 32, 3), np.uint8)
    bgr[:, :] = (40, 120, 200)  # B, G, R
    assert metrics_of(bgr).luma_mean == pytest.approx(0.299 * 200 + 0.587 * 120 + 0.114 * 40, abs=0.6)


def test_colourfulness_matches_hasler_susstrunk_on_a_known_picture():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (64, 64, 3)).astype(np.float64)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    expected = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    bgr = cv2.cvtColor(rgb.astype(np.uint8), cv2.COLOR_RGB2BGR)
    from probes.video_metrics import colourfulness

    assert colourfulness(bgr) == pytest.approx(expected, rel=1e-4)


def test_hysteresis_does_not_flap_around_a_threshold():
    band = Band(warn=60, fail=35, low=True, margin=0.1)
    verdict = None
    history = []
    for value in (70, 59, 61, 59.5, 62, 65, 67):  # hovering around 60, then clearly back
        verdict = band.judge(value, verdict)
        history.append(verdict)
    assert history == [Verdict.OK, Verdict.WARN, Verdict.WARN, Verdict.WARN, Verdict.WARN, Verdict.WARN, Verdict.OK]


def test_window_median_ignores_a_single_odd_frame():
    judge = VideoJudge(VideoThresholds(window_s=10))
    good, dark = metrics_of(photo("astronaut")), metrics_of(gamma_gain(photo("astronaut"), 2.4, 0.4))
    for second in range(8):
        judge.add(float(second), good)
    judge.add(8.0, dark)
    assert {f.check: f.verdict for f in judge.findings(8.0)}["video.brightness"] is Verdict.OK


def test_three_faces_centred_pass_framing_one_face_warns():
    head = cv2.resize(photo("astronaut")[20:260, 110:350], (300, 300))  # head and shoulders
    canvas = np.full((720, 1280, 3), 190, np.uint8)
    for left in (65, 490, 915):  # three leaders, the middle one on the centre line
        canvas[250:550, left : left + 300] = head
    framing = analyse(canvas)
    assert len(framing.front_row) == 3 and judge_framing(framing).verdict is Verdict.OK
    single = analyse(photo("astronaut"))
    assert len(single.faces) == 1 and judge_framing(single).verdict is Verdict.WARN
    assert judge_framing(single).article == "第十五条 / Art. 15"
