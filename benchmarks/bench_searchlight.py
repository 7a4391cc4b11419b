"""Volume searchlight benchmark: brainbridge.align.searchlight versus rsatoolbox's searchlight.

A spherical brain mask in a 16^3 grid (~2,100 voxels), 92 stimuli, spheres of radius 3 voxels
(~120 voxels each), correlation-distance RDM per centre, Spearman comparison with one model RDM.

rsatoolbox: ``get_volume_searchlight`` (spheres truncated at the mask boundary),
``get_searchlight_RDMs`` and ``evaluate_models_searchlight`` with ``eval_fixed``.
brainbridge: ``sphere_neighbours`` + ``membership_matrix`` + ``searchlight_rsa`` on the voxels
of the mask (the same spheres: rsatoolbox keeps distances < R voxels, ours <= sqrt(R^2 - 1/2),
identical on an integer grid; the sets are checked equal). Values are checked equal (RDMs and
scores, max abs difference printed). BLAS is limited to one thread for both; times are CPU
times of this process (robust on a shared machine; both run single-threaded).
Run: ``python benchmarks/bench_searchlight.py`` (about a minute).
"""

from __future__ import annotations

import contextlib
import io
import time

import numpy as np
import rsatoolbox
from rsatoolbox.inference import eval_fixed
from rsatoolbox.util.searchlight import (
    evaluate_models_searchlight,
    get_searchlight_RDMs,
    get_volume_searchlight,
)
from threadpoolctl import threadpool_limits

from brainbridge.align import compute_rdms, upper_triangle
from brainbridge.align.searchlight import (
    iter_searchlight_rdms,
    membership_matrix,
    searchlight_rsa,
    sphere_neighbours,
)

GRID, MASK_RADIUS, RADIUS, N_STIM, N_FEAT_MODEL, SEED = 16, 8.0, 3, 92, 50, 0


def main() -> None:
    rng = np.random.default_rng(SEED)
    ijk = np.indices((GRID,) * 3).reshape(3, -1).T
    centre = (GRID - 1) / 2
    mask = (np.linalg.norm(ijk - centre, axis=1) < MASK_RADIUS).reshape((GRID,) * 3)
    voxels = np.argwhere(mask)  # C order, as np.nonzero (rsatoolbox's centre order)
    model = rng.normal(size=(N_STIM, N_FEAT_MODEL))
    signal = model @ rng.normal(size=(N_FEAT_MODEL, len(voxels))) / np.sqrt(N_FEAT_MODEL)
    gain = np.exp(-0.5 * (np.linalg.norm(voxels - centre, axis=1) / 3.0) ** 2)
    data = gain * signal + rng.normal(size=(N_STIM, len(voxels)))
    model_vec = upper_triangle(compute_rdms(model, "correlation"))

    with threadpool_limits(1):
        # --- rsatoolbox
        t0 = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            centres, neighbours = get_volume_searchlight(
                mask, radius=RADIUS, threshold=0.0, truncate_at_boundary=True
            )
            volume = np.zeros((N_STIM, mask.size))
            volume[:, np.flatnonzero(mask.ravel())] = data
            t1 = time.process_time()
            sl_rdms = get_searchlight_RDMs(
                volume, centres, neighbours, np.arange(N_STIM), method="correlation", verbose=False
            )
            fixed = rsatoolbox.model.ModelFixed("model", rsatoolbox.rdm.RDMs(model_vec[None]))
            evals = evaluate_models_searchlight(sl_rdms, fixed, eval_fixed, method="spearman")
        t_theirs = time.process_time() - t0
        t_theirs_rsa = time.process_time() - t1
        theirs = np.array([float(np.ravel(e.evaluations)[0]) for e in evals])

        # --- brainbridge
        t0 = time.process_time()
        ours_nb = sphere_neighbours(voxels.astype(float), np.sqrt(RADIUS**2 - 0.5))
        member = membership_matrix(ours_nb, len(voxels))
        t1 = time.process_time()
        result = searchlight_rsa(data, member, {"model": model})
        t_ours = time.process_time() - t0
        t_ours_rsa = time.process_time() - t1

    # --- parity: spheres, RDMs, scores
    to_mask = np.full(mask.size, -1)
    to_mask[np.flatnonzero(mask.ravel())] = np.arange(len(voxels))
    assert np.array_equal(to_mask[centres], np.arange(len(voxels))), "centre order differs"
    same = all(
        np.array_equal(np.sort(to_mask[np.asarray(nb)]), ours)
        for nb, ours in zip(neighbours, ours_nb, strict=True)
    )
    ours_rdms = np.concatenate([r for _, r in iter_searchlight_rdms(data, member)])
    rdm_diff = np.abs(ours_rdms - sl_rdms.dissimilarities).max()
    score_diff = np.abs(result.score[0] - theirs).max()
    sizes = np.diff(member.indptr)
    print(
        f"{len(voxels)} centres, sphere {sizes.min()}-{sizes.max()} voxels, {N_STIM} stimuli; "
        f"spheres identical: {same}"
    )
    print(f"max |RDM difference| {rdm_diff:.2e}, max |score difference| {score_diff:.2e}")
    print(f"{'':28s}{'rsatoolbox':>12s}{'brainbridge':>13s}{'ratio':>9s}")
    for label, a, b in (
        ("spheres + RDMs + scores", t_theirs, t_ours),
        ("RDMs + scores", t_theirs_rsa, t_ours_rsa),
    ):
        print(f"{label:28s}{a:11.2f}s{b:12.3f}s{a / b:8.0f}x")


if __name__ == "__main__":
    main()
