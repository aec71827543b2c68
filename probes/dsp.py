"""The few signal-processing primitives the audio checks need, on numpy alone (#15 item 6).

Why not SciPy: memory. `import scipy.signal` holds ~105 MiB resident on a venue PC (it pulls in
`scipy.stats`, `scipy.linalg` and most of SciPy) where numpy holds ~26 MiB, and the daemon with every
monitor configured must stay under 120 MB (docs/benchmarks.md, bench/audio_dsp.py). The audio checks
use four things from it, each small when written for exactly the use made of it here:

- `sosfilt`: a cascade of biquads (the BS.1770 K-weighting) with carried state, computed **exactly**
  — not a truncated impulse response — by block state-space filtering (`_Blocks`): within a block
  of `BLOCK` samples the output is a lower-triangular Toeplitz matrix of the cascade's impulse
  response times the block (only its first `BLOCK` taps can reach inside the block) plus the
  response to the state the block starts in; those states are a linear recurrence of their own,
  solved a group of blocks at a time, so Python only loops over groups (~12 a second at 48 kHz).
  Same results as `scipy.signal.sosfilt` to rounding (float64: ~1e-11 of full scale; float32 input:
  closer than SciPy's own float32 filter, the state being carried in float64), same `zi` layout
  (transposed direct form II, one row of two per section), so the streaming loudness carries state
  as it did; as fast as SciPy's in float32 (bench/audio_dsp.py). Rejected: a truncated FIR by FFT
  (inexact, and the RLB high-pass's double zero at DC needs the whole tail to cancel a DC offset;
  an FFT version of this block method was 3× slower than the products); a per-sample loop in Python
  (hundreds of times slower).
- `welch`: Welch's power spectral density exactly as `scipy.signal.welch` computes it with the
  defaults the checks use (periodic Hann window, each segment's mean removed, one-sided, density
  scaling V²/Hz, the mean over segments).
- `chi2_ppf`: chi-square quantiles for the noise estimator's bias correction, by Newton's method on
  the regularized lower incomplete gamma function (series and continued fraction, as Numerical
  Recipes §6.2), from the Wilson–Hilferty approximation; to ~1e-12 relative.
- The FFT itself is numpy.fft's (pocketfft, the same code SciPy's own fft grew from), used directly.

tests/test_dsp.py checks each against SciPy (kept as a test dependency) on random and real signals.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

BLOCK = 128  # samples per block of the exact filter: a 128 × 128 Toeplitz product per block
GROUP = 32  # blocks per group: the block-start states are solved a group at a time (4096 samples)
CHUNK_GROUPS = 16  # groups filtered at once (65536 samples): the scratch arrays stay ~1 MB
STACK = 16  # blocks per matrix product (GROUP is a multiple)


class _Blocks:
    """The matrices that filter a biquad cascade a block and a group of blocks at a time.

    State s: the sections' TDF-II registers, stacked (SciPy's `zi`, flattened); A, B, C, D the
    cascade's state-space form. Over a block x of L samples starting in state s:

        y = T x + O s            T: lower-triangular Toeplitz of the impulse response h[0:L]
        s_next = A^L s + G x     G x = Σ_j A^(L−1−j) B x_j

    — exact, not truncated: inside a block only h[0:L] can reach. The block-start states of a group
    of K blocks follow from the group's start state the same way (s_i = (A^L)^i s_0 +
    Σ_(l<i) (A^L)^(i−1−l) G x_l), so only the groups' start states are chained in Python.
    """

    def __init__(self, sos: np.ndarray, size: int, group: int):
        a, b, c, d = _state_space(sos)
        m = len(b)
        powers = np.eye(m)[None]  # A^0 … A^size, by doubling
        while len(powers) < size + 1:
            powers = np.concatenate((powers, powers @ (powers[-1] @ a)))
        powers = powers[: size + 1]
        impulse = np.concatenate(([d], np.einsum("i,kij,j->k", c, powers[: size - 1], b)))
        lag = np.arange(size)[None, :] - np.arange(size)[:, None]  # [j, i] = i − j
        self.size, self.group, self.m = size, group, m
        self.powers = powers  # A^r: for a last, short block
        self.step = powers[size]  # A^L
        self.toeplitz = np.where(lag >= 0, impulse[np.maximum(lag, 0)], 0.0)  # row block @ this = T x
        self.observe = np.einsum("i,kij->jk", c, powers[:size])  # (m, L): state @ this = O s
        self.force = np.einsum("kij,j->ki", powers[size - 1 :: -1], b)  # (L, m): block @ this = G x
        steps = [np.eye(m)]
        for _ in range(group):
            steps.append(steps[-1] @ self.step)
        self.start_powers = np.array(steps[:group])  # (A^L)^i, i < K
        self.group_step = steps[group]  # (A^L)^K
        within = np.zeros((group, m, group, m))  # [l, b, i, a] = ((A^L)^(i−1−l))[a, b] for l < i
        for i in range(group):
            for earlier in range(i):
                within[earlier, :, i, :] = steps[i - 1 - earlier].T
        self.within = within.reshape(group * m, group * m)
        self.across = np.concatenate([steps[group - 1 - earlier].T for earlier in range(group)])  # (K m, m)
        self.single = (self.toeplitz.astype(np.float32), self.force.astype(np.float32))


def _state_space(sos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(A, B, C, D) of a cascade of transposed-direct-form-II biquads, state as SciPy's `zi`."""
    m = 2 * len(sos)
    a = np.zeros((m, m))
    b = np.zeros(m)
    row, gain = np.zeros(m), 1.0  # the current section's input as (state coefficients, input gain)
    for i, (b0, b1, b2, _, a1, a2) in enumerate(sos):
        unit = np.zeros(m)
        unit[2 * i] = 1.0
        # y = b0 u + z1;  z1' = b1 u − a1 y + z2;  z2' = b2 u − a2 y   (u: this section's input)
        a[2 * i] = (b1 - a1 * b0) * row - a1 * unit
        a[2 * i, 2 * i + 1] += 1.0
        a[2 * i + 1] = (b2 - a2 * b0) * row - a2 * unit
        b[2 * i] = (b1 - a1 * b0) * gain
        b[2 * i + 1] = (b2 - a2 * b0) * gain
        row, gain = b0 * row + unit, b0 * gain
    return a, b, row, gain


@lru_cache(maxsize=16)
def _blocks(key: bytes, sections: int, size: int, group: int) -> _Blocks:
    return _Blocks(np.frombuffer(key, np.float64).reshape(sections, 6), size, group)


def sosfilt(sos: np.ndarray, samples: np.ndarray, zi: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Filter `samples` by the biquad cascade `sos` ((sections, 6), a0 = 1) from state `zi`
    ((sections, 2), zeros when None): (output, final state), as `scipy.signal.sosfilt(sos, x, zi=zi)`.

    float32 samples are filtered in float32 (the block products) with the states in float64 — what
    the in-memory loudness uses for speed; float64 samples in float64 throughout.
    """
    sos = np.asarray(sos, np.float64)
    if sos.ndim != 2 or sos.shape[1] != 6 or not np.all(sos[:, 3] == 1.0):
        raise ValueError("sos must be (sections, 6) with a0 = 1 in every section")
    samples = np.asarray(samples)
    samples = samples.astype(np.float32 if samples.dtype == np.float32 else np.float64, copy=False)
    state = np.zeros(2 * len(sos)) if zi is None else np.asarray(zi, np.float64).reshape(-1).copy()
    blocks = _blocks(sos.tobytes(), len(sos), BLOCK, GROUP)
    out = np.empty(len(samples), samples.dtype)
    span = BLOCK * GROUP * CHUNK_GROUPS
    for first in range(0, len(samples), span):
        piece = samples[first : first + span]
        out[first : first + len(piece)], state = _filter(blocks, piece, state)
    return out, state.reshape(len(sos), 2)


def _filter(blocks: _Blocks, piece: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One chunk: (output, state after it)."""
    size, group, m = blocks.size, blocks.group, blocks.m
    count = len(piece)
    groups = -(-count // (size * group))
    x = np.zeros(groups * group * size, piece.dtype)
    x[:count] = piece
    # Products as stacks of 16-block matrices: OpenBLAS runs each on the calling thread, where one
    # large product would wake its thread pool — measured 100× slower at the median on a loaded
    # 2-core machine, and the daemon has other threads (video) on those cores.
    x = x.reshape(-1, STACK, size)
    toeplitz, force = blocks.single if piece.dtype == np.float32 else (blocks.toeplitz, blocks.force)
    forced = (x @ force).astype(np.float64).reshape(groups, group * m)  # each block's share of the next state
    within = (forced @ blocks.within).reshape(groups, group, m)  # block-start states from a zero group start
    across = forced @ blocks.across
    group_starts = np.empty((groups, m))
    for index in range(groups):
        group_starts[index] = state
        state = blocks.group_step @ state + across[index]
    starts = within + np.einsum("iab,gb->gia", blocks.start_powers, group_starts)
    y = x @ toeplitz + (starts.reshape(-1, STACK, m) @ blocks.observe).astype(piece.dtype)
    starts = starts.reshape(-1, m)
    forced = forced.reshape(-1, m)
    full, rest = divmod(count, size)
    if rest:  # the chunk ends inside a block: its state after `rest` samples of that block
        state = blocks.powers[rest] @ starts[full] + piece[full * size :] @ blocks.force[size - rest :]
    else:
        state = blocks.step @ starts[full - 1] + forced[full - 1]
    return y.reshape(-1)[:count], state


def welch(samples: np.ndarray, rate: float, nperseg: int, noverlap: int) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies, power spectral density) as `scipy.signal.welch(samples, fs=rate, nperseg=nperseg,
    noverlap=noverlap, window="hann")`: periodic Hann, constant detrend, one-sided, V²/Hz, mean.

    Computed in float64 whatever the input, one 1 s segment at a time: the scratch stays ~2 MB where
    transforming all segments at once held ~14 MB more at the daemon's peak, and numpy's FFT goes
    row by row anyway (as fast either way).
    """
    samples = np.asarray(samples)
    nperseg = min(nperseg, len(samples))  # as SciPy does (it warns)
    step = nperseg - noverlap
    if nperseg < 1 or step < 1:
        raise ValueError("need 0 <= noverlap < nperseg <= len(samples)")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(nperseg) / nperseg)
    segments = (len(samples) - noverlap) // step
    frames = np.lib.stride_tricks.sliding_window_view(samples, nperseg)[::step][:segments]
    total = np.zeros(nperseg // 2 + 1)
    chunk = max(1, (1 << 16) // nperseg)  # a segment (or a few short ones) at a time: ~2 MB of scratch
    for first in range(0, segments, chunk):
        part = frames[first : first + chunk].astype(np.float64)
        part -= part.mean(axis=1, keepdims=True)
        spectrum = np.fft.rfft(part * window, axis=1)
        total += (spectrum.real**2 + spectrum.imag**2).sum(axis=0)
    power = total / (segments * rate * float(np.sum(window**2)))
    power[1 : -1 if nperseg % 2 == 0 else None] *= 2
    return np.fft.rfftfreq(nperseg, 1 / rate), power


@lru_cache(maxsize=1024)
def chi2_ppf(q: float, dof: float) -> float:
    """The `q` quantile of the chi-square distribution with `dof` degrees of freedom
    (`scipy.stats.chi2.ppf(q, dof)`), for 0 < q < 1."""
    if not 0.0 < q < 1.0 or dof <= 0:
        raise ValueError("need 0 < q < 1 and dof > 0")
    shape = dof / 2
    z = _normal_ppf(q)
    # Start: Wilson–Hilferty, or where it fails (few degrees of freedom, far tail) the small-x bound
    # P(a, x) <= x^a / Γ(a + 1), which is never past the quantile.
    floor = math.exp((math.log(q) + math.lgamma(shape + 1)) / shape)
    x = max(dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3 / 2, floor)
    low, high = 0.0, math.inf
    for _ in range(200):
        error = _gamma_p(shape, x) - q
        if error > 0:
            high = x
        else:
            low = x
        density = math.exp((shape - 1) * math.log(x) - x - math.lgamma(shape))
        step = error / density if density > 0 else math.inf
        following = x - step
        if not low < following < high:  # Newton left the bracket: bisect instead
            following = (low + high) / 2 if math.isfinite(high) else 2 * x
        if abs(following - x) <= 1e-14 * x:
            return 2 * following
        x = following
    return 2 * x


def _normal_ppf(q: float) -> float:
    """Standard normal quantile by Newton on math.erf (a starting point for chi2_ppf only)."""
    z = 0.0
    for _ in range(50):
        error = 0.5 * (1 + math.erf(z / math.sqrt(2))) - q
        density = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        z -= error / max(density, 1e-300)
        if abs(error) < 1e-15:
            break
    return z


def _gamma_p(a: float, x: float) -> float:
    """Regularized lower incomplete gamma P(a, x): the series below a + 1, else 1 − the continued fraction."""
    if x <= 0:
        return 0.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1 / a
        n = a
        while abs(term) > abs(total) * 1e-17:
            n += 1
            term *= x / n
            total += term
        return total * math.exp(log_front)
    tiny = 1e-300  # modified Lentz for Q(a, x)
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return 1 - math.exp(log_front) * h
