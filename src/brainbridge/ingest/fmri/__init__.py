"""fMRI ingestion: BOLD runs (plain NIfTI, BIDS, fMRIPrep derivatives) + events -> single-trial
responses (LSA / LSS betas or time-locked averages) in regions; precomputed RDM files (category
RDMs of responses are computed by :mod:`brainbridge.align.categories`)."""

from .average import time_locked_average
from .bids import FmriRun, find_bids_runs
from .cleaning import clean_series, run_confounds
from .glm import lsa_betas, lss_betas, single_trial_betas, trial_design
from .rdms import check_rdms, read_rdm_mat, read_rdms, write_rdm_npz
from .regions import Regions, build_regions
from .runs import ingest_fmri, plain_runs, read_events, resolve_tr

__all__ = [
    "FmriRun",
    "Regions",
    "build_regions",
    "check_rdms",
    "clean_series",
    "find_bids_runs",
    "ingest_fmri",
    "lsa_betas",
    "lss_betas",
    "plain_runs",
    "read_events",
    "read_rdm_mat",
    "read_rdms",
    "resolve_tr",
    "run_confounds",
    "single_trial_betas",
    "time_locked_average",
    "trial_design",
    "write_rdm_npz",
]
