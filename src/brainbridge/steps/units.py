"""Brain "units" compared with layers: fMRI regions, or the whole scalp over time for M/EEG."""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainbridge.store import names as n

SCALP = "scalp"


def brain_units(avg: xr.DataArray, modality: str, region: np.ndarray | None) -> dict[str, np.ndarray]:
    """Patterns per unit: fMRI ``{region: (stimulus, voxel)}``; M/EEG ``{scalp: (time, stimulus, channel)}``."""
    if modality == "fmri":
        return {str(r): avg.values[:, region == r] for r in dict.fromkeys(region.tolist())}
    return {SCALP: avg.transpose(n.TIME, n.STIMULUS, n.CHANNEL).values}


def has_time(modality: str) -> bool:
    return modality != "fmri"
