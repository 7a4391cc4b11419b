"""fMRI ingestion: BOLD runs (plain NIfTI, BIDS, fMRIPrep derivatives) + events -> single-trial
responses (LSA / LSS betas or time-locked averages) in regions; precomputed RDM files (category
RDMs of responses are computed by :mod:`brainbridge.align.categories`).

Names are imported on first use (:mod:`brainbridge.lazy`): reading RDMs needs no GLM library."""

from brainbridge.lazy import lazy_attributes

_MODULES = {
    "average": ("time_locked_average",),
    "bids": ("FmriRun", "find_bids_runs"),
    "cleaning": ("clean_series", "run_confounds"),
    "glm": ("lsa_betas", "lss_betas", "single_trial_betas", "trial_design"),
    "rdms": ("check_rdms", "read_rdm_mat", "read_rdms", "write_rdm_npz"),
    "regions": ("Regions", "build_regions"),
    "runs": ("ingest_fmri", "plain_runs", "read_events", "resolve_tr"),
}
LAZY = {name: f"{__name__}.{m}" for m, names in _MODULES.items() for name in names}
__getattr__, __dir__ = lazy_attributes(__name__, LAZY)
__all__ = sorted(LAZY)
