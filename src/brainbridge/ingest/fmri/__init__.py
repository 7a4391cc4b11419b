"""fMRI ingestion: BOLD runs + events -> single-trial betas (LSA / LSS); precomputed RDMs."""

from .glm import lsa_betas, lss_betas, single_trial_betas, trial_design
from .rdms import category_rdm, decode_categories, read_rdm_mat, write_rdm_npz
from .runs import ingest_fmri, read_atlas, read_events

__all__ = [
    "category_rdm",
    "decode_categories",
    "ingest_fmri",
    "lsa_betas",
    "lss_betas",
    "read_atlas",
    "read_events",
    "read_rdm_mat",
    "single_trial_betas",
    "trial_design",
    "write_rdm_npz",
]
