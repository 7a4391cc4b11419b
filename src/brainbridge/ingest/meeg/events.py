"""Events: from a stim channel, annotations or an event file, mapped to stimulus ids.

A mapping table (TSV with columns ``code`` or ``description``, ``stimulus`` and optional
``condition``; or the same inline under ``events.mapping``) turns each event key (stim code or
annotation description, as text) into a stimulus id and a condition. Without a mapping every
event keeps its key as both; with one, events whose key it lacks are dropped with a warning that
counts them per key, unless listed under ``events.ignore``. Events at the same sample are refused
unless ``events.duplicates: drop`` keeps the first; an onset before the recording is refused.
"""

from __future__ import annotations

import logging
from pathlib import Path

import mne
import numpy as np
import pandas as pd

from brainbridge.ingest.meeg.errors import IngestError
from brainbridge.ingest.meeg.readers import check_recording
from brainbridge.integrity import check_onsets, read_table

log = logging.getLogger(__name__)

KEY_COLUMNS = ("code", "description", "trial_type", "value")


def read_event_table(path: str | Path) -> pd.DataFrame:
    """Event-code table of the simulation: columns code, stimulus and optional condition."""
    table = read_table(path, "event table", dtype={"stimulus": str})
    missing = {"code", "stimulus"} - set(table.columns)
    if missing:
        raise ValueError(
            f"event table {path} lacks column(s) {sorted(missing)}; expected a tab-separated "
            "table with columns code, stimulus[, condition]."
        )
    duplicated = table["code"][table["code"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"event table {path}: duplicated codes {duplicated[:5]}; one row a code.")
    if "condition" not in table:
        table["condition"] = "n/a"
    return table


def read_mapping(cfg: dict) -> pd.DataFrame | None:
    """The event key -> stimulus, condition table of ``events.table`` / ``events.mapping``."""
    if cfg.get("table"):
        path = Path(cfg["table"])
        if not path.exists():
            raise FileNotFoundError(f"event mapping table {path} does not exist; check 'events'.")
        table = read_table(path, "event mapping table", dtype=str, keep_default_na=False)
        key = next((c for c in KEY_COLUMNS if c in table.columns), None)
        if key is None or "stimulus" not in table.columns:
            raise IngestError(
                f"event mapping table {path} needs a key column (one of {list(KEY_COLUMNS)}) and "
                f"a 'stimulus' column; found {list(table.columns)}."
            )
        table = table.rename(columns={key: "key"})
        where = str(path)
    elif cfg.get("mapping"):
        rows = []
        for key, value in cfg["mapping"].items():
            value = value if isinstance(value, dict) else {"stimulus": value}
            rows.append({"key": str(key), **{k: str(v) for k, v in value.items()}})
        table = pd.DataFrame(rows)
        where = "events.mapping"
    else:
        return None
    if "condition" not in table:
        table["condition"] = table["stimulus"]
    table["key"] = table["key"].astype(str).str.strip()
    dup = table["key"][table["key"].duplicated()].tolist()
    if dup:
        raise IngestError(f"event mapping {where}: keys {dup[:5]} appear twice; one row a key.")
    empty = table["stimulus"].astype(str).str.strip() == ""
    if empty.any():
        raise IngestError(
            f"event mapping {where}: empty stimulus id for key(s) "
            f"{table['key'][empty].tolist()[:5]}; give every row a stimulus id."
        )
    return table[["key", "stimulus", "condition"]].assign(where=where)


def _keyed_events(raw: mne.io.BaseRaw, cfg: dict, source: str) -> tuple[np.ndarray, list[str]]:
    """Events (sample, 0, int) and their text keys, from the configured origin."""
    origin = cfg.get("from", "auto")
    if cfg.get("file"):
        path = Path(cfg["file"])
        if not path.exists():
            raise FileNotFoundError(f"event file {path} does not exist; check 'events.file'.")
        check_recording(path, "event file")  # a FIF cut between two tags reads in part
        try:
            events = mne.read_events(path, verbose="error")
        except Exception as err:  # MNE raises many types for a damaged file
            raise IngestError(
                f"could not read event file {path} ({type(err).__name__}: {err}); it must be an "
                "MNE event file (-eve.fif or text), not truncated. Write it again."
            ) from err
        return events, [str(c) for c in events[:, 2]]
    has_stim = len(mne.pick_types(raw.info, stim=True)) > 0
    if origin == "stim" or (origin == "auto" and has_stim):
        if not has_stim:
            raise IngestError(
                f"{source}: 'events.from' is 'stim' but the recording has no stim channel; "
                "use 'annotations' or an event file."
            )
        events = mne.find_events(
            raw, stim_channel=cfg.get("stim_channel"), shortest_event=1, verbose="error"
        )
        if len(events) or origin == "stim" or not len(raw.annotations):
            return events, [str(c) for c in events[:, 2]]
    events, ids = mne.events_from_annotations(raw, verbose="error")
    names = {v: k for k, v in ids.items()}
    return events, [names[c] for c in events[:, 2]]


def _warn_unmapped(keys: np.ndarray, known: np.ndarray, source: str, where: str) -> dict:
    """Count the events whose key the mapping lacks, per key, and log a warning naming them."""
    counts = pd.Series(keys[~known]).value_counts(sort=False)
    unmapped = {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))}
    if unmapped:
        log.warning(
            "%s: %d event(s) dropped, their keys are not in the mapping %s: %s; map them, or "
            "list them under events.ignore to drop them without this warning.",
            source,
            sum(unmapped.values()),
            where,
            ", ".join(f"{k!r} x{v}" for k, v in unmapped.items()),
        )
    return unmapped


def find_events(
    raw: mne.io.BaseRaw, cfg: dict, source: str, qc: dict | None = None
) -> tuple[np.ndarray, pd.DataFrame]:
    """Events of one recording with their ``stimulus``, ``condition``, ``key`` and ``onset``.

    Events whose key is neither mapped nor listed in ``events.ignore`` are dropped with a warning
    that counts them per key (also under ``events_unmapped`` of ``qc``); an onset before the
    start of the recording is an error naming the file.
    """
    events, keys = _keyed_events(raw, cfg, source)
    if len(events) == 0:
        raise IngestError(
            f"{source}: no events found (stim channel, annotations or event file); check "
            "'events.from' / 'events.file', or ingest it as a continuous store (store: continuous)."
        )
    keys = np.array(keys, dtype=object)
    ignore = {str(k) for k in cfg.get("ignore", [])}
    keep = np.array([k not in ignore for k in keys])
    mapping = read_mapping(cfg)
    if mapping is not None:
        known = np.isin(keys, mapping["key"].to_numpy())
        if not (known & keep).any():
            raise IngestError(
                f"{source}: none of the event keys {sorted(set(keys))[:10]} match the mapping "
                f"{mapping['where'].iloc[0]} (keys {mapping['key'].tolist()[:10]}); fix its key "
                "column (stim code or annotation description)."
            )
        unmapped = _warn_unmapped(keys[keep], known[keep], source, mapping["where"].iloc[0])
        if qc is not None and unmapped:
            qc["events_unmapped"] = unmapped
        keep &= known
    events, keys = events[keep], keys[keep]
    onsets = (events[:, 0] - raw.first_samp) / raw.info["sfreq"]
    check_onsets(
        onsets,
        f"event file {cfg['file']} (for {source})" if cfg.get("file") else source,
        "events must lie inside the recording (sample >= its first sample "
        f"{raw.first_samp}); fix or regenerate the events",
    )
    samples = events[:, 0]
    dup = np.unique(samples[np.r_[False, np.diff(samples) == 0]])
    if len(dup):
        if cfg.get("duplicates", "error") != "drop":
            raise IngestError(
                f"{source}: {len(dup)} event(s) share a sample with another (first at sample "
                f"{int(dup[0])}); remove them or set 'events.duplicates: drop' to keep the first."
            )
        first = np.r_[True, np.diff(samples) != 0]
        events, keys = events[first], keys[first]
    if mapping is not None:
        rows = mapping.set_index("key").loc[keys]
        stimulus, condition = rows["stimulus"].to_numpy(), rows["condition"].to_numpy()
    else:
        stimulus = condition = keys
    meta = pd.DataFrame(
        {
            "stimulus": np.asarray(stimulus, dtype=str),
            "condition": np.asarray(condition, dtype=str),
            "key": np.asarray(keys, dtype=str),
            "onset": (events[:, 0] - raw.first_samp) / raw.info["sfreq"],
        }
    )
    events = events.copy()
    events[:, 2] = 1  # one event id: the metadata carries stimulus and condition
    return events, meta
