"""The one M/EEG ingestion chain (read, events, preprocess, epoch) for the runs of one subject,
whatever their source: raw files, BIDS runs or the simulation's recordings and code tables."""

from __future__ import annotations

import logging
from pathlib import Path

import mne
import xarray as xr

from brainbridge.ingest.meeg.epochs import (
    epochs_to_dataset,
    make_epochs,
    raw_to_dataset,
    with_events,
)
from brainbridge.ingest.meeg.errors import IngestError
from brainbridge.ingest.meeg.events import find_events, read_event_table
from brainbridge.ingest.meeg.evoked import evoked_dataset
from brainbridge.ingest.meeg.preprocess import preprocess
from brainbridge.ingest.meeg.qc import drop_summary, psd_summary
from brainbridge.ingest.meeg.readers import read_raw

log = logging.getLogger(__name__)


def ingest_meeg(
    raw_path: str | Path,
    events_path: str | Path,
    cfg: dict,
    *,
    modality: str = "eeg",
    store: str = "epochs",
) -> xr.Dataset:
    """One simulated recording: its stim-channel codes mapped by the event-code table
    (``code``, ``stimulus``, ``condition``), then the chain of :func:`ingest_runs` with the
    preprocessing ``cfg`` (``store: continuous`` keeps channel x time, with the events)."""
    read_event_table(events_path)  # the simulation's table: a code column, one row a code
    dataset = {
        "modality": modality,
        "store": store,
        "events": {"from": "stim", "table": str(events_path)},
        "preprocessing": cfg,
        "qc_psd": False,
    }
    ds, qc = ingest_runs([raw_path], dataset)
    log.info("%s: %d events with known codes", raw_path, qc["runs"][0]["n_events"])
    return ds


def _read(run, cfg: dict) -> mne.io.BaseRaw:
    if cfg.get("source") == "bids":
        from brainbridge.ingest.meeg.bids import read_bids_run

        return read_bids_run(run)
    return read_raw(run)


def _run_label(run, index: int, cfg: dict) -> str:
    labels = cfg.get("run_labels")
    if labels:
        return str(labels[index])
    entity = getattr(run, "run", None)
    return str(entity) if entity else str(index + 1)


def ingest_runs(runs: list, cfg: dict, *, seed: int = 0) -> tuple[xr.Dataset, dict]:
    """The runs of one subject -> one store Dataset and its QC record.

    ``cfg`` is a dataset's config: ``store`` (``epochs`` or ``continuous``), ``channels``,
    ``events``, ``preprocessing``. Epochs of all runs are concatenated (``run`` and per-run
    ``onset`` coords); a continuous store takes one run.
    """
    if not runs:
        raise IngestError("no recording given; list the runs of the dataset ('runs').")
    modality = cfg.get("modality", "eeg")
    store = cfg.get("store", "epochs")
    pre = cfg.get("preprocessing", {})
    if store == "continuous" and len(runs) != 1:
        raise IngestError(
            f"a continuous store holds one recording; got {len(runs)} runs. Define one dataset "
            "per run, or use store: epochs."
        )
    qc: dict = {"runs": [], "store": store}
    all_epochs = []
    for index, run in enumerate(runs):
        source = str(getattr(run, "fpath", run))
        raw = _read(run, cfg)
        rec: dict = {
            "file": source,
            "sfreq": float(raw.info["sfreq"]),
            "n_channels": len(raw.ch_names),
        }
        label = _run_label(run, index, cfg)
        if store == "epochs" or cfg.get("events"):  # continuous: events when configured
            events, meta = find_events(raw, cfg.get("events", {}), source, rec)
            meta["run"] = label
            rec["n_events"] = len(events)
        if cfg.get("qc_psd", True):
            rec["psd_before"] = psd_summary(raw)
        preprocess(raw, cfg, source, seed, rec)
        if cfg.get("qc_psd", True):
            rec["psd_after"] = psd_summary(raw)
        qc["runs"].append(rec)
        if store == "continuous":
            if pre.get("resample"):
                raw.resample(pre["resample"], verbose="error")
            ds = raw_to_dataset(raw, modality=modality)
            if cfg.get("events"):
                ds = with_events(ds, meta)
            return ds, qc
        epochs = make_epochs(raw, events, meta, pre)
        rec["epochs_dropped"] = drop_summary(epochs.drop_log)
        if len(epochs) == 0:
            raise IngestError(
                f"{source}: every epoch was rejected ({rec['epochs_dropped']['reasons']}); "
                "raise 'preprocessing.reject' thresholds or check the recording's units."
            )
        all_epochs.append(epochs)
    names = [e.ch_names for e in all_epochs]
    if any(c != names[0] for c in names):
        raise IngestError(
            f"runs {[str(getattr(r, 'fpath', r)) for r in runs]} differ in channels after "
            "preprocessing (bad channels dropped in some only); enable "
            "'preprocessing.bads.interpolate' with a montage, or drop the channels in all runs."
        )
    epochs = (
        mne.concatenate_epochs(all_epochs, verbose="error")
        if len(all_epochs) > 1
        else all_epochs[0]
    )
    drops = [r["epochs_dropped"] for r in qc["runs"]]
    reasons: dict = {}
    for d in drops:
        for k, v in d["reasons"].items():
            reasons[k] = reasons.get(k, 0) + v
    qc["epochs"] = {
        "kept": len(epochs),
        "dropped": sum(d["dropped"] for d in drops),
        "reasons": reasons,
    }
    return epochs_to_dataset(epochs, modality=modality), qc


def ingest_dataset(files: list, cfg: dict, *, seed: int = 0) -> tuple[xr.Dataset, dict]:
    """Any non-simulated source: ``raw`` files, ``bids`` runs or ``evoked`` files."""
    source = cfg.get("source", "raw")
    modality = cfg.get("modality", "eeg")
    if source == "evoked":
        ds = evoked_dataset(files, cfg.get("evoked", {}), modality=modality)
        return ds, {
            "runs": [{"file": str(f)} for f in files],
            "store": "epochs (evoked)",
            "epochs": {"kept": ds.sizes["trial"], "dropped": 0, "reasons": {}},
        }
    if source == "bids":
        from brainbridge.ingest.meeg.bids import bids_paths

        return ingest_runs(bids_paths(cfg["bids"]), cfg, seed=seed)
    return ingest_runs(list(files), cfg, seed=seed)
