"""Preprocessing of one raw recording; every step optional and configured.

Order: channel names and types, montage, bad channels (detect, then interpolate or drop),
re-reference, notch, band-pass, ICA. Each step appends what it did to a QC record (a dict).

Bad-channel detection (``bads.detect``), on the data channels of each type, after a 1 Hz high-pass
copy of the data so drifts do not dominate:

- ``flat``: standard deviation below ``flat_std`` (volts / tesla, default 1e-13);
- ``noisy``: robust z-score of the log standard deviation (median / MAD) above ``z``
  (default 5);
- ``correlation``: the 90th percentile of a channel's absolute correlation with the others
  below ``min_correlation`` (default 0.4; EEG only, where neighbours share signal).
"""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np

from brainbridge.ingest.meeg.errors import IngestError


def set_channels(raw: mne.io.BaseRaw, cfg: dict, source: str, qc: dict) -> None:
    """Standardize names, set types, drop channels and set the montage, in place."""
    if cfg.get("standardize") == "eegbci":
        mne.datasets.eegbci.standardize(raw)
    rename = cfg.get("rename") or {}
    types = cfg.get("types") or {}
    drop = list(cfg.get("drop") or [])
    named = {**rename, **types, **dict.fromkeys(drop)}
    unknown = sorted(set(named) - set(raw.ch_names) - set(rename.values()))
    if unknown:
        raise IngestError(
            f"{source}: unknown channel name(s) {unknown[:5]} in 'channels'; the recording has "
            f"{raw.ch_names[:8]}{' ...' if len(raw.ch_names) > 8 else ''}."
        )
    if rename:
        raw.rename_channels(rename)
    if types:
        raw.set_channel_types(types, verbose="error")
    if drop:
        raw.drop_channels(drop)
        qc.setdefault("dropped_channels", {}).update(dict.fromkeys(drop, "configured"))
    montage = cfg.get("montage")
    if montage:
        set_montage(raw, montage, source)


def read_montage(name: str, source: str) -> mne.channels.DigMontage:
    """A built-in montage by name (e.g. ``standard_1005``), or a montage file: a name with a
    file suffix (``-dig.fif`` / ``.fif`` digitisation, or any format of
    :func:`mne.channels.read_custom_montage`: ``.loc``, ``.locs``, ``.elc``, ``.sfp``, ...)."""
    if Path(name).suffix:
        if not Path(name).is_file():
            raise IngestError(
                f"{source}: montage file {name} (channels.montage) does not exist; give the "
                "path of a montage file or a built-in montage name (e.g. standard_1005)."
            )
        try:
            if name.endswith(".fif") or name.endswith(".fif.gz"):
                return mne.channels.read_dig_fif(name, verbose="error")
            return mne.channels.read_custom_montage(name, verbose="error")
        except (ValueError, OSError) as err:
            raise IngestError(
                f"{source}: cannot read montage file {name} (channels.montage): {err}"
            ) from err
    try:
        return mne.channels.make_standard_montage(name)
    except ValueError as err:
        raise IngestError(
            f"{source}: unknown montage {name!r}; choose one of "
            f"mne.channels.get_builtin_montages() (e.g. standard_1005), or give a montage file."
        ) from err


def set_montage(raw: mne.io.BaseRaw, name: str, source: str) -> None:
    """A built-in montage or a montage file (:func:`read_montage`) that must cover every EEG
    channel."""
    montage = read_montage(name, source)
    eeg = [raw.ch_names[i] for i in mne.pick_types(raw.info, eeg=True)]
    known = {c.lower() for c in montage.ch_names}
    missing = [c for c in eeg if c.lower() not in known]
    if missing:
        raise IngestError(
            f"{source}: montage {name!r} does not fit: no position for EEG channel(s) "
            f"{missing[:5]}{' ...' if len(missing) > 5 else ''}. Rename them (channels.rename, "
            "or channels.standardize: eegbci), set their type (channels.types) or drop them."
        )
    raw.set_montage(montage, match_case=False, on_missing="raise", verbose="error")


def detect_bads(raw: mne.io.BaseRaw, cfg: dict) -> dict[str, str]:
    """Bad data channels and why (``flat``, ``noisy``, ``uncorrelated``); see module doc."""
    picks = mne.pick_types(raw.info, meg=True, eeg=True, exclude="bads")
    if len(picks) < 3:
        return {}
    data = raw.copy().pick(picks).filter(1.0, None, verbose="error").get_data()
    names = [raw.ch_names[i] for i in picks]
    types = np.array(raw.copy().pick(picks).get_channel_types())
    std = data.std(axis=1)
    bads: dict[str, str] = {}
    flat = std < cfg.get("flat_std", 1e-13)
    for t in np.unique(types):
        sel = (types == t) & ~flat
        if sel.sum() < 3:
            continue
        log_std = np.log(std[sel])
        mad = np.median(np.abs(log_std - np.median(log_std))) * 1.4826 or 1e-12
        z = (log_std - np.median(log_std)) / mad
        for name, zi in zip(np.array(names)[sel], z):
            if zi > cfg.get("z", 5.0):
                bads[str(name)] = f"noisy (robust z {zi:.1f})"
        if t == "eeg" and sel.sum() >= 4:
            corr = np.abs(np.corrcoef(data[sel]))
            np.fill_diagonal(corr, np.nan)
            top = np.nanpercentile(corr, 90, axis=1)
            for name, c in zip(np.array(names)[sel], top):
                if c < cfg.get("min_correlation", 0.4) and str(name) not in bads:
                    bads[str(name)] = f"uncorrelated (90th pct |r| {c:.2f})"
    for name in np.array(names)[flat]:
        bads[str(name)] = "flat"
    return bads


def handle_bads(raw: mne.io.BaseRaw, cfg: dict, source: str, qc: dict) -> None:
    """Mark detected (and already marked) bad channels, then interpolate or drop them."""
    found = {b: "marked in the recording" for b in raw.info["bads"]}
    if cfg.get("detect", True):
        found.update(detect_bads(raw, cfg))
    qc["bad_channels"] = found
    raw.info["bads"] = sorted(found)
    if not found:
        return
    has_pos = all(
        np.isfinite(raw.info["chs"][raw.ch_names.index(b)]["loc"][:3]).all()
        and np.any(raw.info["chs"][raw.ch_names.index(b)]["loc"][:3])
        for b in found
    )
    if cfg.get("interpolate", True) and has_pos:
        raw.interpolate_bads(reset_bads=True, verbose="error")
        qc["interpolated_channels"] = sorted(found)
    else:
        raw.drop_channels(sorted(found))
        reason = "bad, dropped (no positions to interpolate)" if not has_pos else "bad, dropped"
        qc.setdefault("dropped_channels", {}).update(dict.fromkeys(sorted(found), reason))


def filter_raw(raw: mne.io.BaseRaw, cfg: dict) -> None:
    """Re-reference, notch and band-pass, in place (as configured)."""
    if cfg.get("l_freq") is not None or cfg.get("h_freq") is not None:
        raw.filter(cfg.get("l_freq"), cfg.get("h_freq"), picks="data", verbose="error")
    notch = cfg.get("notch")
    if notch:
        freqs = np.atleast_1d(notch).astype(float)
        freqs = freqs[freqs < raw.info["sfreq"] / 2]
        if len(freqs):
            raw.notch_filter(freqs, picks="data", verbose="error")
    if cfg.get("reference", "average") == "average" and "eeg" in raw:
        raw.set_eeg_reference("average", projection=False, verbose="error")
    elif isinstance(cfg.get("reference"), list):
        raw.set_eeg_reference(cfg["reference"], projection=False, verbose="error")


def run_ica(raw: mne.io.BaseRaw, cfg: dict, seed: int, qc: dict) -> None:
    """ICA on a 1 Hz high-passed copy; exclude components matching EOG / ECG channels.

    Components are matched by ``measure``: ``correlation`` (default: |r| with the EOG / ECG
    channel above ``threshold``, 0.5) works at any channel count; ``zscore`` (MNE's default,
    threshold 3) needs many components, since one outlier among n reaches at most
    (n - 1) / sqrt(n) standard deviations.
    """
    has_eog = len(mne.pick_types(raw.info, eog=True)) > 0
    has_ecg = len(mne.pick_types(raw.info, ecg=True)) > 0
    if not (has_eog or has_ecg):
        qc["ica"] = "skipped: no EOG or ECG channel to identify artifact components"
        return
    ica = mne.preprocessing.ICA(
        n_components=cfg.get("n_components", 0.99),
        method=cfg.get("method", "fastica"),
        random_state=seed,
        max_iter="auto",
    )
    ica.fit(raw.copy().filter(1.0, None, verbose="error"), picks="data", verbose="error")
    measure = cfg.get("measure", "correlation")
    threshold = cfg.get("threshold", 0.5 if measure == "correlation" else 3.0)
    match = {"measure": measure, "threshold": threshold, "verbose": "error"}
    exclude: dict[str, list[int]] = {}
    if has_eog:
        exclude["eog"], _ = ica.find_bads_eog(raw, **match)
    if has_ecg:
        exclude["ecg"], _ = ica.find_bads_ecg(raw, method="correlation", **match)
    ica.exclude = sorted({int(i) for ids in exclude.values() for i in ids})
    ica.apply(raw, verbose="error")
    qc["ica"] = {
        "n_components": int(ica.n_components_),
        "measure": measure,
        "threshold": threshold,
        "excluded": {k: [int(i) for i in v] for k, v in exclude.items()},
    }


def preprocess(raw: mne.io.BaseRaw, cfg: dict, source: str, seed: int, qc: dict) -> None:
    """The whole chain on one recording, in place; ``qc`` receives what each step did."""
    set_channels(raw, cfg.get("channels", {}), source, qc)
    pre = cfg.get("preprocessing", {})
    if pre.get("bads") is not None:
        handle_bads(raw, pre["bads"], source, qc)
    filter_raw(raw, pre)
    if pre.get("ica") is not None:  # `ica: {}` means ICA with default settings
        run_ica(raw, pre["ica"], seed, qc)
