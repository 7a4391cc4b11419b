"""Representational alignment between brain and model representations.

Split like rsatoolbox: :mod:`.rdm` (RDMs from patterns), :mod:`.compare` (RDM comparison),
:mod:`.cka` (linear CKA), :mod:`.metrics` (named registry), :mod:`.stats` (inference).
"""

from .cka import cka_from_grams, hsic_from_grams, linear_cka, linear_gram
from .comparators import TauAMetric, WhitenedRSAMetric  # registers tau-a, whitened comparisons
from .compare import (
    COMPARE_METHODS,
    compare_rdm_vectors,
    cross_compare_rdm_vectors,
    normalize_rdm_vectors,
    rank_vectors,
)
from .crossnobis import CrossnobisRSAMetric  # registers rsa-rdm=crossnobis-*
from .metrics import CKAMetric, Metric, RSAMetric, get_metric, list_metrics, register_metric
from .rdm import RDM_METHODS, RDMVectors, compute_rdms, squareform_vectors, upper_triangle
from .stats import (
    BootstrapResult,
    NoiseCeiling,
    PermutationResult,
    bootstrap_ci,
    noise_ceiling_split_half,
    permutation_test,
    split_repetitions,
)

__all__ = [
    "COMPARE_METHODS",
    "RDM_METHODS",
    "BootstrapResult",
    "CKAMetric",
    "CrossnobisRSAMetric",
    "Metric",
    "NoiseCeiling",
    "PermutationResult",
    "RDMVectors",
    "RSAMetric",
    "TauAMetric",
    "WhitenedRSAMetric",
    "bootstrap_ci",
    "cka_from_grams",
    "compare_rdm_vectors",
    "compute_rdms",
    "cross_compare_rdm_vectors",
    "get_metric",
    "hsic_from_grams",
    "linear_cka",
    "linear_gram",
    "list_metrics",
    "noise_ceiling_split_half",
    "normalize_rdm_vectors",
    "permutation_test",
    "rank_vectors",
    "register_metric",
    "split_repetitions",
    "squareform_vectors",
    "upper_triangle",
]
