"""Simulated EEG: a sphere head model, stimulus-driven dipoles per time window, realistic noise."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import mne
import numpy as np
import pandas as pd

from brainbridge.atomic import atomic_path, write_table
from brainbridge.simulate.components import layer_readout

log = logging.getLogger(__name__)

CHANNELS = (
    "Fp1 Fp2 F7 F3 Fz F4 F8 FC5 FC1 FC2 FC6 T7 C3 Cz C4 T8 "
    "CP5 CP1 CP2 CP6 P7 P3 Pz P4 P8 PO7 PO3 POz PO4 PO8 O1 Oz O2"
).split()

# source directions (from the sphere centre) of the stimulus-driven dipoles, early to late
SPREAD = 1.0  # scatter of a window's dipole directions: distributed generators

SOURCE_SITES = {
    "occipital": [(0.0, -1.0, 0.1), (0.3, -0.95, 0.0), (-0.3, -0.95, 0.0)],
    "occipito-temporal": [(0.7, -0.7, -0.1), (-0.7, -0.7, -0.1), (0.0, -0.9, 0.3)],
    "temporal": [(0.95, -0.3, -0.2), (-0.95, -0.3, -0.2), (0.5, -0.6, 0.3)],
    "parietal": [(0.0, -0.6, 0.8), (0.4, -0.5, 0.7), (-0.4, -0.5, 0.7)],
}


@dataclass(frozen=True)
class Window:
    """A time window whose stimulus-specific response is driven by one layer."""

    name: str
    tmin: float
    tmax: float
    layer: str
    snr: float

    @property
    def centre(self) -> float:
        return 0.5 * (self.tmin + self.tmax)


def _montage_name() -> str:
    """The 10-20 template; MNE 1.13 renamed ``standard_1020`` (same positions)."""
    return (
        "colin27_1020" if "colin27_1020" in mne.channels.get_builtin_montages() else "standard_1020"
    )


def make_info(sfreq: float) -> mne.Info:
    info = mne.create_info([*list(CHANNELS), "STI 014"], sfreq, ["eeg"] * len(CHANNELS) + ["stim"])
    info.set_montage(mne.channels.make_standard_montage(_montage_name()))
    return info


def _dipole_leadfield(info: mne.Info, sphere, directions: np.ndarray, depth: float) -> np.ndarray:
    """Leadfield (channels x dipoles, V per A*m) of radial-ish dipoles at ``directions``."""
    directions = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    pos = np.asarray(sphere["r0"]) + depth * sphere.radius * directions
    dip = mne.Dipole(np.zeros(len(pos)), pos, np.ones(len(pos)), directions, np.ones(len(pos)))
    eeg_info = mne.pick_info(info, mne.pick_types(info, eeg=True))
    fwd, _ = mne.make_forward_dipole(dip, sphere, eeg_info, verbose=False)
    return fwd["sol"]["data"]


def _pink_noise(rng: np.random.Generator, n_series: int, n_times: int, sfreq: float) -> np.ndarray:
    """Unit-variance 1/f noise band-limited to 1-45 Hz, one row per series."""
    freqs = np.fft.rfftfreq(n_times, 1 / sfreq)
    amp = np.zeros_like(freqs)
    band = (freqs >= 1.0) & (freqs <= 45.0)
    amp[band] = 1 / np.sqrt(freqs[band])
    spectrum = amp * (
        rng.standard_normal((n_series, len(freqs)))
        + 1j * rng.standard_normal((n_series, len(freqs)))
    )
    series = np.fft.irfft(spectrum, n=n_times, axis=1)
    return series / series.std(axis=1, keepdims=True)


def _site_directions(site: list[tuple], per_site: int, rng: np.random.Generator) -> np.ndarray:
    """``per_site`` dipole directions scattered around the directions of one source site."""
    base = np.array(site, dtype=float)
    picks = base[rng.integers(0, len(base), per_site)]
    return picks + SPREAD * rng.standard_normal(picks.shape)


def simulate_eeg(
    activations,
    stimuli: list[str],
    conditions: list[str],
    windows: list[Window],
    *,
    sfreq: float = 250.0,
    repetitions: int = 2,
    soa: tuple[float, float] = (1.0, 1.2),
    dipoles_per_window: int = 20,
    noise_dipoles: int = 30,
    noise_nam: float = 20.0,
    sensor_noise_uv: float = 1.0,
    seed: int = 0,
) -> tuple[mne.io.RawArray, pd.DataFrame]:
    """Continuous EEG with one event per presentation; returns the raw and the code table.

    ``snr`` of a window is the variance across stimuli of its stimulus-specific signal at the
    window centre over the variance of the background noise, averaged over channels, for a
    single trial.
    """
    rng = np.random.default_rng(seed)
    info = make_info(sfreq)
    sphere = mne.make_sphere_model("auto", "auto", info, verbose=False)
    sites = list(SOURCE_SITES.values())
    n_stim = len(stimuli)

    order = np.concatenate([rng.permutation(n_stim) for _ in range(repetitions)])
    onsets = 2.0 + np.cumsum(rng.uniform(*soa, size=len(order))) - soa[0]
    n_times = int((onsets[-1] + 2.0) * sfreq)

    # background: pink-noise dipoles spread through the head, plus white sensor noise
    noise_dirs = rng.standard_normal((noise_dipoles, 3))
    noise_lf = _dipole_leadfield(info, sphere, noise_dirs, depth=0.55)
    noise = noise_lf @ (noise_nam * 1e-9 * _pink_noise(rng, noise_dipoles, n_times, sfreq))
    noise += sensor_noise_uv * 1e-6 * rng.standard_normal(noise.shape)
    noise_var = noise.var(axis=1).mean()

    # stimulus-specific responses: per window, dipoles whose amplitudes follow the layer
    eeg = noise
    kernel_t = np.arange(int(0.7 * sfreq)) / sfreq
    for k, window in enumerate(windows):
        directions = _site_directions(sites[k % len(sites)], dipoles_per_window, rng)
        lf = _dipole_leadfield(info, sphere, directions, depth=0.6)
        amps = layer_readout(activations, window.layer, lf.shape[1], rng)  # stim x dipole
        topo_per_stim = amps @ lf.T  # stim x channel, including a shared response profile
        scale = np.sqrt(window.snr * noise_var / topo_per_stim.var(axis=0).mean())
        log.info("window %s: layer %s, snr %.2f", window.name, window.layer, window.snr)
        width = (window.tmax - window.tmin) / 4
        bump = np.exp(-0.5 * ((kernel_t - window.centre) / width) ** 2)
        for trial, stim in enumerate(order):
            start = int(round(onsets[trial] * sfreq))
            stop = min(start + len(bump), n_times)
            eeg[:, start:stop] += scale * np.outer(topo_per_stim[stim], bump[: stop - start])

    # a stimulus-independent ERP (P1, N1, P3) on top, as in real visual responses
    erp_lf = _dipole_leadfield(info, sphere, np.array(sites[0] + sites[3][:1]), depth=0.6)
    erp = (
        sum(
            a * np.exp(-0.5 * ((kernel_t - c) / w) ** 2)[None, :] * erp_lf[:, [j]]
            for j, (a, c, w) in enumerate(
                [(15, 0.1, 0.02), (-20, 0.17, 0.025), (-10, 0.2, 0.03), (25, 0.35, 0.06)]
            )
        )
        * 1e-9
    )
    stim = np.zeros(n_times)
    codes = np.arange(1, n_stim + 1)
    for trial, s in enumerate(order):
        start = int(round(onsets[trial] * sfreq))
        stop = min(start + erp.shape[1], n_times)
        eeg[:, start:stop] += erp[:, : stop - start]
        stim[start : start + max(2, int(0.02 * sfreq))] = codes[s]

    raw = mne.io.RawArray(np.vstack([eeg, stim]), info, verbose=False)
    raw.set_meas_date(None)
    table = pd.DataFrame({"code": codes, "stimulus": stimuli, "condition": conditions})
    return raw, table


def write_eeg(raw: mne.io.BaseRaw, table: pd.DataFrame, raw_path: Path, events_path: Path) -> None:
    """Write the raw FIF and the event-code table, each atomically."""
    with atomic_path(raw_path) as tmp:
        raw.save(tmp, overwrite=True, verbose=False)
    write_table(table, events_path)
