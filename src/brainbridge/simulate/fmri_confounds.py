"""Head motion and fMRIPrep-style confounds of simulated fMRI.

Head motion: six rigid-body parameters (random walk plus a few sudden jerks that partly come
back a few volumes later). Confounds are computed from the simulated data as fMRIPrep does
(global / WM / CSF means, framewise displacement after Power et al., DVARS, cosine high-pass
basis for 128 s, aCompCor / tCompCor components) with fMRIPrep's column names and JSON.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from nilearn.glm.first_level import make_first_level_design_matrix
from scipy.linalg import eigh

MOTION_COLUMNS = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
FD_THRESHOLD = 0.5  # mm, fMRIPrep's default for motion outliers
DVARS_THRESHOLD = 1.5  # std_dvars, fMRIPrep's default
HEAD_RADIUS_MM = 50.0  # rotations -> mm in framewise displacement (Power et al. 2012)


def head_motion(n_scans: int, n_jerks: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Rigid-body parameters (volume x 6: mm, rad): a random walk plus jerks that partly return."""
    steps = rng.normal(0.0, 1.0, (n_scans, 6)) * np.array([0.01] * 3 + [0.0002] * 3)
    steps[0] = 0.0
    free = np.arange(5, n_scans - 12)
    starts = []
    for _ in range(n_jerks):  # at least 12 volumes apart, away from the ends
        if free.size == 0:
            break
        start = int(rng.choice(free))
        starts.append(start)
        free = free[np.abs(free - start) >= 12]
    for start in sorted(starts):
        jump = rng.normal(0.0, 1.0, 6) * np.array([0.6] * 3 + [0.008] * 3)
        size = np.abs(jump[:3]).sum() + HEAD_RADIUS_MM * np.abs(jump[3:]).sum()
        jump *= max(1.0, 1.2 / size)  # FD of the jerk >= 1.2 mm
        steps[start] += jump
        steps[start + int(rng.integers(3, 7))] -= 0.6 * jump  # partial return
    return scale * np.cumsum(steps, axis=0)


def framewise_displacement(motion: np.ndarray) -> np.ndarray:
    """Power's FD: sum of absolute backward differences, rotations on a 50 mm sphere (0 first)."""
    diff = np.abs(np.diff(motion, axis=0))
    fd = diff[:, :3].sum(axis=1) + HEAD_RADIUS_MM * diff[:, 3:].sum(axis=1)
    return np.concatenate([[0.0], fd])


def rotations(angles: np.ndarray) -> np.ndarray:
    """Rotation matrices (volume x 3 x 3) for x, y, z angles (small-angle exact, R = Rz Ry Rx)."""
    cx, cy, cz = np.cos(angles).T
    sx, sy, sz = np.sin(angles).T
    one, zero = np.ones_like(cx), np.zeros_like(cx)
    rx = np.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1).reshape(-1, 3, 3)
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(-1, 3, 3)
    rz = np.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1).reshape(-1, 3, 3)
    return rz @ ry @ rx


def displacement(motion: np.ndarray, xyz: np.ndarray) -> np.ndarray:
    """Displacement (volume x voxel x 3, mm) of voxel positions ``xyz`` by the motion."""
    moved = np.einsum("tij,vj->tvi", rotations(motion[:, 3:]), xyz)
    return moved - xyz[None] + motion[:, None, :3]


def cosine_basis(frame_times: np.ndarray) -> np.ndarray:
    """fMRIPrep's discrete cosine high-pass basis for a 128 s cut-off (time x k)."""
    design = make_first_level_design_matrix(frame_times, drift_model="cosine", high_pass=1 / 128)
    return design.drop(columns="constant").to_numpy()


def compcor(
    series: np.ndarray, cosines: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Top ``n`` components (time x n) of the high-passed, variance-normalized series, their
    singular values and the total variance (sum of squares)."""
    basis, _ = np.linalg.qr(np.column_stack([np.ones(len(series)), cosines]))
    y = series - basis @ (basis.T @ series)
    y = y / np.maximum(y.std(axis=0), 1e-12)
    n = min(n, *y.shape)
    wide = y.shape[1] > y.shape[0]
    gram = y @ y.T if wide else y.T @ y  # the smaller Gram matrix
    power, vectors = eigh(gram, subset_by_index=[len(gram) - n, len(gram) - 1])
    power, vectors = np.clip(power[::-1], 1e-12, None), vectors[:, ::-1]
    components = vectors if wide else (y @ vectors) / np.sqrt(power)
    return components, np.sqrt(power), float(np.trace(gram))


def _expand(table: dict[str, np.ndarray], name: str, values: np.ndarray) -> None:
    """fMRIPrep's column with its derivative and squares (derivatives start with n/a)."""
    deriv = np.concatenate([[np.nan], np.diff(values)])
    table[name] = values
    table[f"{name}_derivative1"] = deriv
    table[f"{name}_power2"] = values**2
    table[f"{name}_derivative1_power2"] = deriv**2


def _add_dvars(table: dict[str, np.ndarray], series: np.ndarray) -> None:
    """DVARS and its standardized form (Nichols 2017: over the expected sd of differences)."""
    diff = np.diff(series, axis=0)
    dvars = np.sqrt((diff**2).mean(axis=1))
    q75, q25 = np.percentile(series, [75, 25], axis=0)
    sd = (q75 - q25) / 1.349
    centred = series - series.mean(axis=0)
    lag1 = (centred[:-1] * centred[1:]).sum(axis=0) / np.maximum((centred**2).sum(axis=0), 1e-12)
    expected = np.sqrt((sd**2 * 2 * (1 - np.clip(lag1, 0, 1))).mean())
    table["std_dvars"] = np.concatenate([[np.nan], dvars / expected])
    table["dvars"] = np.concatenate([[np.nan], dvars])


def _add_compcor(
    table: dict[str, np.ndarray],
    series: np.ndarray,
    cosines: np.ndarray,
    csf: np.ndarray,
    white: np.ndarray,
) -> dict[str, dict]:
    """tCompCor and aCompCor (CSF, WM, combined) columns; returns their JSON metadata."""
    meta: dict[str, dict] = {}
    high_var = np.argsort(series.std(axis=0))[-max(5, series.shape[1] // 20) :]
    sets = [
        ("t", "tCompCor", None, series[:, high_var], 3),
        ("c", "aCompCor", "CSF", series[:, csf], 3),
        ("w", "aCompCor", "WM", series[:, white], 3),
        ("a", "aCompCor", "combined", series[:, csf | white], 5),
    ]
    for prefix, method, mask, data, n in sets:
        comps, singular, total = compcor(data, cosines, n)
        variance = singular**2 / total
        for k in range(comps.shape[1]):
            name = f"{prefix}_comp_cor_{k:02d}"
            table[name] = comps[:, k]
            meta[name] = {
                "CumulativeVarianceExplained": float(variance[: k + 1].sum()),
                "Method": method,
                "Retained": True,
                "SingularValue": float(singular[k]),
                "VarianceExplained": float(variance[k]),
            } | ({"Mask": mask} if mask else {})
    return meta


def _add_outliers(table: dict[str, np.ndarray], n_scans: int) -> None:
    """One spike regressor per volume with FD or standardized DVARS over fMRIPrep's limits."""
    outliers = np.flatnonzero(
        (np.nan_to_num(table["framewise_displacement"]) > FD_THRESHOLD)
        | (np.nan_to_num(table["std_dvars"]) > DVARS_THRESHOLD)
    )
    for k, volume in enumerate(outliers):
        table[f"motion_outlier{k:02d}"] = (np.arange(n_scans) == volume).astype(int)


def confounds_table(
    series: np.ndarray,
    motion: np.ndarray,
    xyz: np.ndarray,
    frame_times: np.ndarray,
    csf: np.ndarray,
    white: np.ndarray,
) -> tuple[pd.DataFrame, dict[str, dict]]:
    """fMRIPrep-style confounds table (time x column) and its JSON (CompCor metadata).

    ``series`` is time x voxel, ``xyz`` the voxels' positions (mm), ``csf`` / ``white`` voxel
    masks and ``motion`` the rigid-body parameters (volume x 6, :data:`MOTION_COLUMNS`).
    """
    table: dict[str, np.ndarray] = {}
    _expand(table, "global_signal", series.mean(axis=1))
    _expand(table, "csf", series[:, csf].mean(axis=1))
    _expand(table, "white_matter", series[:, white].mean(axis=1))
    _expand(table, "csf_wm", series[:, csf | white].mean(axis=1))
    _add_dvars(table, series)
    fd = framewise_displacement(motion)
    table["framewise_displacement"] = np.concatenate([[np.nan], fd[1:]])
    moved = displacement(motion, xyz)
    rmsd = np.sqrt((np.diff(moved, axis=0) ** 2).sum(axis=-1).mean(axis=1))
    table["rmsd"] = np.concatenate([[np.nan], rmsd])
    cosines = cosine_basis(frame_times)
    meta = _add_compcor(table, series, cosines, csf, white)
    for k in range(cosines.shape[1]):
        table[f"cosine{k:02d}"] = cosines[:, k]
    for index, column in enumerate(MOTION_COLUMNS):
        _expand(table, column, motion[:, index])
    _add_outliers(table, len(series))
    return pd.DataFrame(table), meta
