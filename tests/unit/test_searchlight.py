"""Searchlight RSA: neighbourhoods, RDMs of all centres at once, scores, against rsatoolbox."""

from __future__ import annotations

import contextlib
import io

import mne
import numpy as np
import pytest
import rsatoolbox
from rsatoolbox.util.searchlight import get_searchlight_RDMs, get_volume_searchlight
from scipy.spatial.transform import Rotation

from brainbridge.align import compare_rdm_vectors, compute_rdms, upper_triangle
from brainbridge.align.searchlight import (
    grid_from_positions,
    iter_searchlight_rdms,
    membership_matrix,
    searchlight_rsa,
    sensor_neighbours,
    sensor_time_membership,
    sphere_neighbours,
)
from brainbridge.simulate.eeg import _montage_name


def _volume(seed=0, grid=7, radius=3.2):
    ijk = np.indices((grid,) * 3).reshape(3, -1).T
    mask = (np.linalg.norm(ijk - (grid - 1) / 2, axis=1) < radius).reshape((grid,) * 3)
    data = np.random.default_rng(seed).normal(size=(12, int(mask.sum())))
    return mask, np.argwhere(mask), data


def test_spheres_and_rdms_equal_rsatoolbox():
    mask, voxels, data = _volume()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        centres, neighbours = get_volume_searchlight(
            mask, radius=2, threshold=0.0, truncate_at_boundary=True
        )
        volume = np.zeros((12, mask.size))
        volume[:, np.flatnonzero(mask.ravel())] = data
        theirs = get_searchlight_RDMs(volume, centres, neighbours, np.arange(12), verbose=False)
    to_mask = np.full(mask.size, -1)
    to_mask[np.flatnonzero(mask.ravel())] = np.arange(len(voxels))
    ours = sphere_neighbours(voxels * 2.5, 2.5 * np.sqrt(2**2 - 0.5))  # 2.5 mm voxels
    assert [sorted(to_mask[np.asarray(nb)]) for nb in neighbours] == [list(o) for o in ours]
    member = membership_matrix(ours, len(voxels))
    rdms = np.concatenate([r for _, r in iter_searchlight_rdms(data, member)])
    np.testing.assert_allclose(rdms, theirs.dissimilarities, atol=1e-12)


@pytest.mark.parametrize(
    ("method", "per_feature"),
    [("correlation", False), ("euclidean", False), ("sqeuclidean", True)],
)
def test_rdms_equal_per_centre_loop(method, per_feature):
    rng = np.random.default_rng(1)
    data = rng.normal(size=(9, 40)) + 50.0  # an offset, to check conditioning
    neighbours = [
        np.sort(rng.choice(40, size=rng.integers(3, 12), replace=False)) for _ in range(25)
    ]
    member = membership_matrix(neighbours, 40)
    got = np.concatenate(
        [r for _, r in iter_searchlight_rdms(data, member, method, per_feature=per_feature)]
    )
    ref = [
        upper_triangle(compute_rdms(data[:, nb], method, per_feature=per_feature))
        for nb in neighbours
    ]
    np.testing.assert_allclose(got, ref, atol=1e-9)


def test_searchlight_scores_and_planted_sphere():
    _mask, voxels, _ = _volume(grid=9, radius=4.5)
    rng = np.random.default_rng(2)
    model = rng.normal(size=(20, 10))
    data = rng.normal(size=(20, len(voxels)))
    near = np.linalg.norm(voxels - voxels[0], axis=1) <= 2  # signal around the first voxel
    data[:, near] += 3 * model @ rng.normal(size=(10, int(near.sum())))
    member = membership_matrix(sphere_neighbours(voxels.astype(float), 1.5), len(voxels))
    res = searchlight_rsa(data, member, {"m": model}, n_permutations=100, seed=0)
    assert res.score.shape == res.p_value.shape == (1, len(voxels))
    ref = [
        compare_rdm_vectors(
            upper_triangle(compute_rdms(data[:, nb])), upper_triangle(compute_rdms(model))
        )
        for nb in sphere_neighbours(voxels.astype(float), 1.5)
    ]
    np.testing.assert_allclose(res.score[0], ref, atol=1e-12)
    assert res.score[0, 0] > 0.3 and res.p_value[0, 0] == pytest.approx(1 / 101)
    far = np.linalg.norm(voxels - voxels[0], axis=1) > 4
    assert np.median(res.p_value[0, far]) > 0.2


def test_sensor_time_searchlight_finds_the_planted_window():
    montage = mne.channels.make_standard_montage(_montage_name())
    names = ["Fz", "Cz", "Pz", "Oz", "O1", "O2", "C3", "C4", "F3", "F4", "P3", "P4"]
    pos = montage.get_positions()["ch_pos"]
    positions = np.array([pos[c] for c in names])
    neighbours = sensor_neighbours(names, positions)
    assert all(i in nb for i, nb in enumerate(neighbours))
    adjacency = np.zeros((12, 12), bool)
    for i, nb in enumerate(neighbours):
        adjacency[i, nb] = True
    assert (adjacency == adjacency.T).all() and 2 < adjacency.sum(1).mean() < 12
    times = np.linspace(0, 0.19, 20)
    member, centres = sensor_time_membership(neighbours, times, window=0.03, step=2)
    assert member.shape == (12 * 20, 12 * 10) and list(centres) == list(range(0, 20, 2))
    rng = np.random.default_rng(3)
    model = rng.normal(size=(24, 6))
    data = rng.normal(size=(24, 12, 20))
    data[:, 3, 10:13] += 3 * (model @ rng.normal(size=(6, 3)))  # Oz, 100-120 ms
    res = searchlight_rsa(data.reshape(24, -1), member, {"m": model})
    score = res.score[0].reshape(12, 10)
    channel, centre = np.unravel_index(np.argmax(score), score.shape)
    assert 3 in neighbours[channel] and centre in (5, 6)
    assert score[3, 5:7].max() > 0.3 and np.abs(score[:, :4]).max() < 0.3


def test_grid_from_positions_roundtrip():
    ijk = np.argwhere(np.ones((3, 4, 2), bool))
    affine = np.array([[2.0, 0, 0, -10], [0, 2.5, 0, 4], [0, 0, 3, 7], [0, 0, 0, 1]])
    positions = ijk @ affine[:3, :3].T + affine[:3, 3]
    got_affine, got_ijk = grid_from_positions(positions)
    np.testing.assert_allclose(got_affine, affine)
    np.testing.assert_array_equal(got_ijk, ijk)
    with pytest.raises(ValueError, match="axis-aligned"):
        grid_from_positions(positions @ Rotation.from_euler("z", 0.3).as_matrix())


def test_rsatoolbox_evaluation_matches():
    """Scores equal rsatoolbox's eval_fixed (Spearman) per searchlight RDM."""
    _mask, voxels, data = _volume(seed=4)
    model = np.random.default_rng(5).normal(size=(12, 4))
    neighbours = sphere_neighbours(voxels.astype(float), 1.5)
    res = searchlight_rsa(data, membership_matrix(neighbours, len(voxels)), {"m": model})
    model_rdm = rsatoolbox.rdm.RDMs(upper_triangle(compute_rdms(model))[None])
    for c in (0, len(voxels) // 2, len(voxels) - 1):
        brain = rsatoolbox.rdm.RDMs(upper_triangle(compute_rdms(data[:, neighbours[c]]))[None])
        theirs = rsatoolbox.rdm.compare(model_rdm, brain, method="spearman")[0, 0]
        assert res.score[0, c] == pytest.approx(theirs, abs=1e-12)
