"""Variance partitioning of two or three feature spaces per target.

Every non-empty subset of the spaces is fitted (one space alone: ridge; a union: banded ridge
with per-target band weights, :mod:`brainbridge.encode.banded`) and scored by held-out R^2 on
the same outer folds. The explained variance is then split by set theory (Lescroart et al.
2015, de Heer et al. 2017). Two spaces ``A``, ``B``::

    unique A = R2(AB) - R2(B)     unique B = R2(AB) - R2(A)     shared = R2(A) + R2(B) - R2(AB)

Three spaces: the seven regions of the Venn diagram, e.g. ``unique A = R2(ABC) - R2(BC)``,
``shared A+B (not C) = R2(AC) + R2(BC) - R2(C) - R2(ABC)`` and ``shared A+B+C = R2(A) + R2(B)
+ R2(C) - R2(AB) - R2(AC) - R2(BC) + R2(ABC)``. The regions sum to ``R2(ABC)``. Held-out
estimates are noisy: a region may come out slightly negative where its true value is 0.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from brainbridge.encode.backend import Backend
from brainbridge.encode.banded import _to_numpy, check_spaces, cross_validated_banded_scores
from brainbridge.encode.ridge import make_folds

JOIN = "+"


def subset_name(names: Sequence[str]) -> str:
    """``"A+B"`` for the union of spaces A and B."""
    return JOIN.join(names)


def component_names(spaces: Sequence[str]) -> list[str]:
    """Labels of the partition, in order: ``r2:S`` for every subset S (singles first), then
    ``unique:X`` per space and ``shared:S`` per subset of two or more spaces."""
    subsets = _subsets(spaces)
    return (
        [f"r2:{subset_name(s)}" for s in subsets]
        + [f"unique:{x}" for x in spaces]
        + [f"shared:{subset_name(s)}" for s in subsets if len(s) > 1]
    )


def _subsets(spaces: Sequence[str]) -> list[tuple[str, ...]]:
    return [s for k in range(1, len(spaces) + 1) for s in itertools.combinations(list(spaces), k)]


def partition_components(r2: Mapping[str, np.ndarray], spaces: Sequence[str]) -> dict:
    """The Venn regions from the R^2 of every subset (keys as :func:`subset_name`).

    With ``r(T)`` the variance explained by exactly the spaces ``T`` and ``rest`` the other
    spaces, Moebius inversion of ``R2(all) - R2(all minus U) = sum of r(T) over T within U``
    gives ``r(T) = sum over W within T of (-1)^(|W|+1) R2(rest + W)`` (the formulas of the
    module docstring for 2 and 3 spaces).
    """
    spaces = list(spaces)
    if len(spaces) not in (2, 3):
        raise ValueError(f"variance partitioning takes 2 or 3 feature spaces, got {spaces}")
    full = set(spaces)
    out = {f"r2:{subset_name(s)}": np.asarray(r2[subset_name(s)]) for s in _subsets(spaces)}

    def union(members: set[str]) -> np.ndarray:
        if not members:
            return np.zeros_like(out[f"r2:{subset_name(spaces)}"])
        return out[f"r2:{subset_name([x for x in spaces if x in members])}"]

    def region(inside: tuple[str, ...]) -> np.ndarray:
        rest = full - set(inside)
        total = 0.0
        for k in range(len(inside) + 1):
            for w in itertools.combinations(inside, k):
                sign = (-1) ** (k + 1)
                total = total + sign * union(rest | set(w))
        return total

    for x in spaces:
        out[f"unique:{x}"] = region((x,))
    for s in _subsets(spaces):
        if len(s) > 1:
            out[f"shared:{subset_name(s)}"] = region(s)
    return out


def align_spaces(
    spaces: Mapping[str, tuple[Sequence[str], Any]], stimuli: Sequence[str], *, source: str = ""
) -> dict[str, np.ndarray]:
    """Rows of each feature space in the order of ``stimuli``, joined on stimulus ids.

    ``spaces`` maps a name to ``(stimulus ids, (n_ids, n_features) array)``. Every space must
    hold exactly the same stimulus set (and cover ``stimuli``): a space fitted on other stimuli
    would be compared on different samples. The error names the space and the ids.
    """
    wanted = [str(s) for s in stimuli]
    names = list(spaces)
    ids = {k: [str(s) for s in spaces[k][0]] for k in names}
    where = f" ({source})" if source else ""
    for k in names:
        if len(set(ids[k])) != len(ids[k]):
            raise ValueError(f"feature space {k!r}{where} repeats stimulus ids; give one row each")
    first = names[0]
    for k in names[1:]:
        only_first = sorted(set(ids[first]) - set(ids[k]))
        only_k = sorted(set(ids[k]) - set(ids[first]))
        if only_first or only_k:
            raise ValueError(
                f"feature spaces {first!r} and {k!r}{where} hold different stimulus sets "
                f"({len(only_first)} only in {first!r}: {only_first[:3]}, {len(only_k)} only in "
                f"{k!r}: {only_k[:3]}); extract every space for the same stimulus manifest"
            )
    missing = sorted(set(wanted) - set(ids[first]))
    if missing:
        raise ValueError(
            f"{len(missing)} stimulus id(s) of the responses are absent from the feature spaces"
            f"{where}: {missing[:5]}; extract the spaces for the stimuli the brain data shows"
        )
    out = {}
    for k in names:
        index = {s: i for i, s in enumerate(ids[k])}
        out[k] = np.asarray(_to_numpy(spaces[k][1]))[[index[s] for s in wanted]]
    return out


@dataclass
class Partition:
    """Held-out R^2 of every subset and the Venn regions, per target."""

    spaces: list[str]
    components: list[str]
    values: np.ndarray  # (n_components, n_targets)
    gamma: np.ndarray  # (n_folds, n_spaces, n_targets) band weights of the joint model
    folds: list[tuple[np.ndarray, np.ndarray]]

    def __getitem__(self, component: str) -> np.ndarray:
        return self.values[self.components.index(component)]


def variance_partition(
    spaces: Mapping[str, Any],
    Y: Any,
    alphas: Sequence[float] | np.ndarray,
    gammas: int | np.ndarray = 20,
    *,
    n_folds: int = 5,
    inner_folds: int = 5,
    groups: Any = None,
    seed: int | None = 0,
    backend: str | Backend = "auto",
    dtype: str | None = None,
    target_batch: int | None = None,
) -> Partition:
    """Unique and shared held-out R^2 of 2 or 3 named feature spaces for every target.

    R^2 is that of all out-of-fold predictions at once: per-fold R^2 would count each test
    fold's mean against every model alike, which cancels in unique variance but biases shared
    variance below 0.

    ``spaces`` maps names to ``(n_samples, n_features)`` arrays (same samples, same order).
    Every subset model uses the same outer folds and alphas; unions draw ``gammas`` band-weight
    candidates (:func:`brainbridge.encode.banded.band_weight_candidates`) per union.
    """
    names = list(spaces)
    if len(names) not in (2, 3):
        raise ValueError(f"variance partitioning takes 2 or 3 feature spaces, got {names}")
    arrays, Y = check_spaces([spaces[k] for k in names], Y, names=names)
    data = dict(zip(names, arrays))
    folds = make_folds(Y.shape[0], n_folds, groups=groups, seed=seed)
    r2, gamma = {}, None
    for subset in _subsets(names):
        result = cross_validated_banded_scores(
            [data[x] for x in subset],
            Y,
            alphas,
            gammas if len(subset) > 1 else 1,
            folds=folds,
            inner_folds=inner_folds,
            scoring="r2",
            aggregate="concatenated",
            seed=seed,
            backend=backend,
            dtype=dtype,
            target_batch=target_batch,
            names=list(subset),
        )
        r2[subset_name(subset)] = result.scores
        if len(subset) == len(names):
            gamma = result.gamma
    parts = partition_components(r2, names)
    labels = component_names(names)
    return Partition(
        spaces=names,
        components=labels,
        values=np.stack([parts[c] for c in labels]),
        gamma=gamma,
        folds=folds,
    )
