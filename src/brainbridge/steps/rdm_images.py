"""The RDMs behind an alignment, kept in its result store for the report's RDM images and MDS.

Per brain unit (region, or the scalp) and per layer, one square RDM over the stimuli, with the
RDM method of the first RSA metric (correlation distance when there is none):

* fMRI regions: the RDM of the stimulus-averaged patterns; brain RDM datasets: the mean of the
  replicates' RDMs;
* M/EEG: the RDM of the spatiotemporal patterns (channels x time points from 0 s on);
* layers: the RDM of the features, or the precomputed model RDM.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainbridge.align import RDM_METHODS, RDMVectors, RSAMetric, compute_rdms
from brainbridge.store import names as n

#: above this many stimuli the RDMs are not stored (they would dwarf the scores)
MAX_STIMULI = 1500


def _method(metrics: list) -> str:
    rsa = [m for m in metrics if isinstance(m, RSAMetric) and m.rdm_method in RDM_METHODS]
    return rsa[0].rdm_method if rsa else "correlation"  # crossnobis needs trials: not here


def _square(x, method: str, times: np.ndarray | None) -> np.ndarray:
    if isinstance(x, RDMVectors):
        sq = x.square()
        return sq.reshape(-1, *sq.shape[-2:]).mean(axis=0)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3:  # (time, stimulus, channel) -> spatiotemporal patterns from 0 s on
        keep = times >= 0 if times is not None and (times >= 0).any() else slice(None)
        x = np.moveaxis(x[keep], 0, -1).reshape(x.shape[1], -1)
    return compute_rdms(x, method)  # type: ignore[arg-type]


def with_rdm_images(
    ds: xr.Dataset,
    units: dict,
    features: dict,
    metrics: list,
    stimuli: np.ndarray,
    times: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> tuple[xr.Dataset, dict]:
    """``ds`` with ``brain_rdm`` (region, stimulus, stimulus2) and ``model_rdm`` (layer, ...),
    and the attrs describing them; unchanged beyond :data:`MAX_STIMULI` stimuli. ``groups``
    (one label per stimulus, e.g. its condition) colours the report's MDS plots."""
    if len(stimuli) > MAX_STIMULI:
        return ds, {"rdm_images": f"not stored (more than {MAX_STIMULI} stimuli)"}
    method = _method(metrics)
    brain = np.stack([_square(units[u], method, times) for u in ds[n.REGION].values])
    model = np.stack([_square(features[k], method, None) for k in ds[n.LAYER].values])
    ids = np.asarray([str(s) for s in stimuli], dtype=str)
    out = ds.assign(
        brain_rdm=((n.REGION, n.STIMULUS, n.STIMULUS2), brain),
        model_rdm=((n.LAYER, n.STIMULUS, n.STIMULUS2), model),
    ).assign_coords({n.STIMULUS: ids, n.STIMULUS2: ids})
    if groups is not None:
        out = out.assign_coords(stimulus_group=(n.STIMULUS, np.asarray(groups, dtype=str)))
    note = (
        f"{method} distance; brain: stimulus-averaged patterns (M/EEG: channels x time from "
        "0 s), RDM datasets: mean over replicates; model: layer features or precomputed RDM"
    )
    return out, {"rdm_images": note}
