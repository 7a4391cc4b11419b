"""Store kinds and their validation: what every brain, activation and result store must hold.

A store is an :class:`xarray.Dataset`. Each kind names the data variables it holds, their dims,
the coords that label them and the attrs that describe them. :func:`validate` checks a Dataset
against its kind and raises :class:`StoreError` with a message that names the store, the field
and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from brainbridge.store import names as n


class StoreError(ValueError):
    """A store (or a Dataset about to become one) breaks the contract."""


@dataclass(frozen=True)
class VarSpec:
    """A data variable: its dims (each position lists the names allowed there) and dtype kind."""

    dims: tuple[tuple[str, ...], ...]
    dtype_kinds: str = "f"  # numpy dtype.kind letters allowed
    extra_trailing_dims: bool = False
    finite: bool = True


@dataclass(frozen=True)
class CoordSpec:
    """A coordinate: the dim it labels, its dtype kind, and whether values must be unique."""

    dims: tuple[str, ...]
    dtype_kinds: str
    unique: bool = False
    required: bool = True
    alternatives: tuple[tuple[str, ...], ...] = ()  # other dims it may label instead

    def dims_in(self, ds: xr.Dataset) -> tuple[str, ...] | None:
        """The dims this coord labels in ``ds`` (the first variant present), or None."""
        for dims in (self.dims, *self.alternatives):
            if dims[0] in ds.dims:
                return dims
        return None


@dataclass(frozen=True)
class StoreKind:
    """One kind of store: variables, coords and attrs it must carry."""

    name: str
    doc: str
    variables: dict[str, VarSpec] = field(default_factory=dict)
    per_layer: bool = False  # variables are the network layers, each (stimulus, feature_dim)
    coords: dict[str, CoordSpec] = field(default_factory=dict)
    attrs: dict[str, Callable[[object], bool]] = field(default_factory=dict)
    chunks: dict[str, int] = field(default_factory=dict)  # target chunk length per dim
    # checks of the values beyond dims and dtypes (run when values are validated)
    check_values: Callable[[xr.Dataset, str], None] | None = None


def feature_dim(layer: str) -> str:
    """Name of the feature dim of one layer's array in an activation store."""
    return f"feature:{layer}"


def _positive_number(value: object) -> bool:
    return isinstance(value, int | float | np.number) and float(value) > 0


def _nonempty_str(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _layer_list(value: object) -> bool:
    """2 or 3 distinct layer names (the feature spaces of a variance partition)."""
    items = list(value) if isinstance(value, list | tuple | np.ndarray) else []
    return 2 <= len(items) <= 3 and len(set(items)) == len(items) and all(map(_nonempty_str, items))


_MEEG = ("eeg", "meg", "meeg", "ieeg")

#: absolute tolerance (times the largest value) of the symmetry and zero-diagonal checks
RDM_ATOL = 1e-6


def _check_rdm_values(ds: xr.Dataset, where: str) -> None:
    """RDMs are square over one stimulus set (``stimulus2`` = ``stimulus``), symmetric, with a
    zero diagonal, over at least 3 stimuli."""
    rows = ds[n.STIMULUS].values.astype(str)
    cols = ds[n.STIMULUS2].values.astype(str)
    if rows.tolist() != cols.tolist():
        raise StoreError(
            f"variable 'rdm'{where}: coord 'stimulus2' must list the ids of 'stimulus' in the "
            "same order (the RDM is square over one stimulus set)."
        )
    rdm = np.asarray(ds["rdm"].values, dtype=np.float64)
    if rdm.shape[-1] < 3:
        raise StoreError(f"variable 'rdm'{where} has {rdm.shape[-1]} stimuli; RSA needs >= 3.")
    scale = max(1.0, float(np.abs(rdm).max()))
    asym = np.abs(rdm - np.swapaxes(rdm, -1, -2)).max(axis=(-1, -2))
    diag = np.abs(np.diagonal(rdm, axis1=-2, axis2=-1)).max(axis=-1)
    for problem, values, fix in (
        ("is not symmetric", asym, "symmetrize it ((R + R.T) / 2) if the asymmetry is noise"),
        ("has a non-zero diagonal", diag, "a stimulus is at distance 0 from itself"),
    ):
        bad = np.argwhere(values > RDM_ATOL * scale)
        if len(bad):
            region, replicate = (
                str(ds[d].values[i]) for d, i in zip((n.REGION, n.REPLICATE), bad[0])
            )
            raise StoreError(
                f"variable 'rdm'{where} {problem} (region {region!r}, replicate {replicate!r}: "
                f"max deviation {float(values[tuple(bad[0])]):.3g}; {len(bad)} RDM(s) affected). "
                f"Give dissimilarity matrices: {fix}."
            )


def _sha256(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def _check_token_values(ds: xr.Dataset, where: str) -> None:
    """Codes index their level's codebook: 0 <= code < codebook size."""
    size = int(ds.sizes[n.CODE])
    codes = np.asarray(ds["codes"].values)
    if ds.sizes[n.LEVEL] != ds["codes"].shape[-1]:
        raise StoreError(
            f"variable 'codes'{where} has {ds['codes'].shape[-1]} levels but 'codebook' has "
            f"{ds.sizes[n.LEVEL]}."
        )
    if codes.size and (codes.min() < 0 or codes.max() >= size):
        raise StoreError(
            f"variable 'codes'{where} holds codes outside [0, {size}) (min {codes.min()}, max "
            f"{codes.max()}); the codes do not come from this codebook: retokenize."
        )


KINDS: dict[str, StoreKind] = {
    k.name: k
    for k in [
        StoreKind(
            name="epochs",
            doc="M/EEG epochs: trial x channel x time, one trial per stimulus presentation.",
            variables={"data": VarSpec(dims=((n.TRIAL,), (n.CHANNEL,), (n.TIME,)))},
            coords={
                n.STIMULUS: CoordSpec((n.TRIAL,), "UO"),
                n.CONDITION: CoordSpec((n.TRIAL,), "UO", required=False),
                n.RUN: CoordSpec((n.TRIAL,), "iuUO", required=False),
                n.ONSET: CoordSpec((n.TRIAL,), "f", required=False),
                n.CHANNEL: CoordSpec((n.CHANNEL,), "UO", unique=True),
                n.CH_TYPE: CoordSpec((n.CHANNEL,), "UO"),
                n.POSITION: CoordSpec((n.CHANNEL, n.SPACE), "f", required=False),
                n.ORIENTATION: CoordSpec((n.CHANNEL, n.SPACE), "f", required=False),
                n.TIME: CoordSpec((n.TIME,), "f"),
            },
            attrs={n.SFREQ: _positive_number, n.MODALITY: lambda v: v in _MEEG},
            chunks={n.TRIAL: 64, n.CHANNEL: -1, n.TIME: -1},
        ),
        StoreKind(
            name="continuous",
            doc="Continuous M/EEG: channel x time, for tokenizers and temporal models.",
            variables={"data": VarSpec(dims=((n.CHANNEL,), (n.TIME,)))},
            coords={
                n.CHANNEL: CoordSpec((n.CHANNEL,), "UO", unique=True),
                n.CH_TYPE: CoordSpec((n.CHANNEL,), "UO"),
                n.POSITION: CoordSpec((n.CHANNEL, n.SPACE), "f", required=False),
                n.ORIENTATION: CoordSpec((n.CHANNEL, n.SPACE), "f", required=False),
                n.TIME: CoordSpec((n.TIME,), "f"),
                # stimulus events (when the dataset configures `events`): onset in s from the
                # first sample
                n.STIMULUS: CoordSpec((n.EVENT,), "UO", required=False),
                n.CONDITION: CoordSpec((n.EVENT,), "UO", required=False),
                n.ONSET: CoordSpec((n.EVENT,), "f", required=False),
            },
            attrs={n.SFREQ: _positive_number, n.MODALITY: lambda v: v in _MEEG},
            chunks={n.CHANNEL: -1, n.TIME: 60_000},
        ),
        StoreKind(
            name="responses",
            doc="fMRI single-trial responses: trial x voxel (or parcel) with region labels.",
            variables={"data": VarSpec(dims=((n.TRIAL,), (n.VOXEL, n.PARCEL)))},
            coords={
                n.STIMULUS: CoordSpec((n.TRIAL,), "UO"),
                n.CONDITION: CoordSpec((n.TRIAL,), "UO", required=False),
                n.RUN: CoordSpec((n.TRIAL,), "iuUO", required=False),
                n.ONSET: CoordSpec((n.TRIAL,), "f", required=False),
                n.REGION: CoordSpec((n.VOXEL,), "UO", alternatives=((n.PARCEL,),)),
                n.POSITION: CoordSpec(
                    (n.VOXEL, n.SPACE), "f", required=False, alternatives=((n.PARCEL, n.SPACE),)
                ),
            },
            attrs={n.MODALITY: lambda v: v == "fmri"},
            chunks={n.TRIAL: -1, n.VOXEL: 4096, n.PARCEL: -1},
        ),
        StoreKind(
            name="rdms",
            doc="Brain RDMs: region x replicate x stimulus x stimulus2 (subjects, sessions or "
            "runs as replicates; square, symmetric, zero diagonal).",
            variables={
                "rdm": VarSpec(dims=((n.REGION,), (n.REPLICATE,), (n.STIMULUS,), (n.STIMULUS2,)))
            },
            coords={
                n.REGION: CoordSpec((n.REGION,), "UO", unique=True),
                n.REPLICATE: CoordSpec((n.REPLICATE,), "UO", unique=True),
                n.SUBJECT: CoordSpec((n.REPLICATE,), "UO", required=False),
                n.SESSION: CoordSpec((n.REPLICATE,), "UO", required=False),
                n.STIMULUS: CoordSpec((n.STIMULUS,), "UO", unique=True),
                n.STIMULUS2: CoordSpec((n.STIMULUS2,), "UO", unique=True),
            },
            attrs={n.MODALITY: _nonempty_str, n.DISSIMILARITY: _nonempty_str},
            chunks={n.REGION: 1, n.REPLICATE: -1, n.STIMULUS: -1, n.STIMULUS2: -1},
            check_values=_check_rdm_values,
        ),
        StoreKind(
            name="tokens",
            doc="Brain tokens: integer codes per trial (or segment) x channel (or source) x "
            "token step x RVQ level, the codebooks, and the tokenizer checkpoint's SHA-256.",
            variables={
                "codes": VarSpec(
                    dims=((n.TRIAL, n.SEGMENT), (n.CHANNEL, n.SOURCE), (n.TOKEN,), (n.LEVEL,)),
                    dtype_kinds="iu",
                ),
                "codebook": VarSpec(dims=((n.LEVEL,), (n.CODE,), (n.CODE_DIM,))),
            },
            coords={
                n.STIMULUS: CoordSpec((n.TRIAL,), "UO", required=False),
                n.CONDITION: CoordSpec((n.TRIAL,), "UO", required=False),
                n.RUN: CoordSpec((n.TRIAL,), "iuUO", required=False),
                n.ONSET: CoordSpec((n.TRIAL,), "f", required=False, alternatives=((n.SEGMENT,),)),
                n.CHANNEL: CoordSpec((n.CHANNEL,), "UO", unique=True),
                n.CH_TYPE: CoordSpec((n.CHANNEL,), "UO", required=False),
                n.SOURCE: CoordSpec((n.SOURCE,), "UO", unique=True),
                n.TOKEN_TIME: CoordSpec((n.TOKEN,), "f"),
            },
            attrs={
                n.SFREQ: _positive_number,
                n.TOKENIZER: _nonempty_str,
                n.CHECKPOINT_SHA256: _sha256,
            },
            chunks={n.TRIAL: 256, n.SEGMENT: 1024},
            check_values=_check_token_values,
        ),
        StoreKind(
            name="activations",
            doc="Network activations: one array per layer, stimulus x feature.",
            per_layer=True,
            coords={n.STIMULUS: CoordSpec((n.STIMULUS,), "UO", unique=True)},
            attrs={n.MODEL: _nonempty_str},
            chunks={n.STIMULUS: 256},
        ),
        StoreKind(
            name="encoding",
            doc="Cross-validated encoding scores: layer x target [x time], plus region summaries.",
            variables={
                "score": VarSpec(
                    dims=((n.LAYER,), (n.TARGET, n.CHANNEL, n.VOXEL, n.PARCEL)),
                    extra_trailing_dims=True,
                    finite=False,
                )
            },
            coords={n.LAYER: CoordSpec((n.LAYER,), "UO", unique=True)},
            attrs={"scoring": _nonempty_str},
        ),
        StoreKind(
            name="partition",
            doc="Variance partitioning of 2-3 layers: component (held-out R^2 of every subset, "
            "unique and shared regions) x target [x time], band weights of the joint banded "
            "ridge, and component x region [x time] summaries.",
            variables={
                "value": VarSpec(
                    dims=((n.COMPONENT,), (n.TARGET, n.CHANNEL, n.VOXEL, n.PARCEL)),
                    extra_trailing_dims=True,
                    finite=False,
                ),
                "summary": VarSpec(
                    dims=((n.COMPONENT,), (n.REGION,)), extra_trailing_dims=True, finite=False
                ),
            },
            coords={
                n.COMPONENT: CoordSpec((n.COMPONENT,), "UO", unique=True),
                n.REGION: CoordSpec((n.REGION,), "UO", unique=True),
                n.BAND: CoordSpec((n.BAND,), "UO", unique=True, required=False),
            },
            attrs={"spaces": _layer_list, "scoring": _nonempty_str},
        ),
        StoreKind(
            name="trf",
            doc="Temporal response functions of a continuous recording, per layer (or feature "
            "file): weights layer x lag x feature x channel, held-out scores per channel (mean "
            "over contiguous blocks, and per block) and the alpha of each channel.",
            variables={
                "weight": VarSpec(dims=((n.LAYER,), (n.LAG,), (n.FEATURE,), (n.CHANNEL,))),
                "score": VarSpec(dims=((n.LAYER,), (n.CHANNEL,)), finite=False),
                "fold_score": VarSpec(dims=((n.LAYER,), (n.FOLD,), (n.CHANNEL,)), finite=False),
                "alpha": VarSpec(dims=((n.LAYER,), (n.CHANNEL,))),
            },
            coords={
                n.LAYER: CoordSpec((n.LAYER,), "UO", unique=True),
                n.LAG: CoordSpec((n.LAG,), "f", unique=True),
                n.FEATURE: CoordSpec((n.FEATURE,), "UO", unique=True),
                n.CHANNEL: CoordSpec((n.CHANNEL,), "UO", unique=True),
            },
            attrs={
                n.SFREQ: _positive_number,
                "scoring": _nonempty_str,
                "n_folds": _positive_number,
                "tmin": lambda v: isinstance(v, int | float),
                "tmax": lambda v: isinstance(v, int | float),
            },
        ),
        StoreKind(
            name="decoding",
            doc="Identification decoding of layer features from the brain: decoder x metric x "
            "layer x region|time x level (top-1 as score, top-k, chance, normalised rank, "
            "permutation p, CI over folds).",
            variables={
                var: VarSpec(
                    dims=((n.DECODER,), (n.METRIC,), (n.LAYER,), (n.REGION, n.TIME), (n.LEVEL,)),
                    extra_trailing_dims=var in ("top_k", "chance"),
                    finite=False,
                )
                for var in ("score", "top_k", "chance", "mean_rank", "p_value")
            },
            coords={
                n.DECODER: CoordSpec((n.DECODER,), "UO", unique=True),
                n.METRIC: CoordSpec((n.METRIC,), "UO", unique=True),
                n.LAYER: CoordSpec((n.LAYER,), "UO", unique=True),
                n.REGION: CoordSpec((n.REGION,), "UO", unique=True),
                n.TIME: CoordSpec((n.TIME,), "f"),
                n.LEVEL: CoordSpec((n.LEVEL,), "UO", unique=True),
                n.TOP_K: CoordSpec((n.TOP_K,), "iu", unique=True),
            },
            attrs={"n_folds": _positive_number},
        ),
        StoreKind(
            name="generalization",
            doc="Time-resolved label decoding: train_time x test_time scores (diagonal = "
            "sliding), cluster labels (0 = none) and cluster p-values.",
            variables={
                "score": VarSpec(dims=((n.TRAIN_TIME,), (n.TEST_TIME,))),
                "diagonal": VarSpec(dims=((n.TRAIN_TIME,),)),
                "matrix_cluster": VarSpec(dims=((n.TRAIN_TIME,), (n.TEST_TIME,)), dtype_kinds="iu"),
                "diagonal_cluster": VarSpec(dims=((n.TRAIN_TIME,),), dtype_kinds="iu"),
            },
            coords={
                n.TRAIN_TIME: CoordSpec((n.TRAIN_TIME,), "f"),
                n.TEST_TIME: CoordSpec((n.TEST_TIME,), "f"),
            },
            attrs={"chance": _positive_number, "scoring": _nonempty_str},
        ),
        StoreKind(
            name="alignment",
            doc="Representational alignment: metric x region x layer [x time] with statistics.",
            variables={
                "score": VarSpec(
                    dims=((n.METRIC,), (n.REGION,), (n.LAYER,)),
                    extra_trailing_dims=True,
                    finite=False,
                )
            },
            coords={
                n.METRIC: CoordSpec((n.METRIC,), "UO", unique=True),
                n.REGION: CoordSpec((n.REGION,), "UO", unique=True),
                n.LAYER: CoordSpec((n.LAYER,), "UO", unique=True),
            },
        ),
        StoreKind(
            name="searchlight",
            doc="Searchlight maps: metric x layer x voxel, or x channel x time (M/EEG).",
            variables={
                "score": VarSpec(
                    dims=((n.METRIC,), (n.LAYER,), (n.VOXEL, n.CHANNEL)),
                    extra_trailing_dims=True,
                    finite=False,
                ),
                "p_value": VarSpec(
                    dims=((n.METRIC,), (n.LAYER,), (n.VOXEL, n.CHANNEL)),
                    extra_trailing_dims=True,
                    finite=False,
                ),
            },
            coords={
                n.METRIC: CoordSpec((n.METRIC,), "UO", unique=True),
                n.LAYER: CoordSpec((n.LAYER,), "UO", unique=True),
                n.CHANNEL: CoordSpec((n.CHANNEL,), "UO", unique=True),
                n.POSITION: CoordSpec(
                    (n.VOXEL, n.SPACE), "f", alternatives=((n.CHANNEL, n.SPACE),)
                ),
            },
            attrs={n.MODALITY: _nonempty_str},
        ),
    ]
}


def _dtype_kind(values: np.ndarray) -> str:
    kind = values.dtype.kind
    return "U" if kind == "T" else kind  # numpy StringDType reads as a string kind


def _where(source: str | None) -> str:
    return f" in {source}" if source else ""


def _check_strings(name: Hashable, values: np.ndarray, where: str) -> None:
    bad = [v for v in values.ravel().tolist() if not isinstance(v, str) or not v]
    if bad:
        raise StoreError(
            f"coord {name!r}{where} must hold non-empty strings; found {bad[:3]!r}. "
            "Give every entry a string id (e.g. the stimulus file stem)."
        )


def _check_variable(ds: xr.Dataset, var: str, spec: VarSpec, where: str, values: bool) -> None:
    if var not in ds.data_vars:
        raise StoreError(
            f"data variable {var!r} missing{where}; found {sorted(map(str, ds.data_vars))}."
        )
    da = ds[var]
    dims = da.dims
    n_fixed = len(spec.dims)
    if len(dims) < n_fixed or (len(dims) > n_fixed and not spec.extra_trailing_dims):
        raise StoreError(
            f"variable {var!r}{where} has dims {dims}; expected {_describe_dims(spec)}."
        )
    for position, allowed in enumerate(spec.dims):
        if dims[position] not in allowed:
            raise StoreError(
                f"variable {var!r}{where} has dim {dims[position]!r} at position {position}; "
                f"expected one of {allowed} (dims {_describe_dims(spec)})."
            )
    if da.dtype.kind not in spec.dtype_kinds:
        raise StoreError(
            f"variable {var!r}{where} has dtype {da.dtype}; expected "
            + (
                "a floating type. Cast with .astype('float32') before writing."
                if "f" in spec.dtype_kinds
                else "an integer type (codes)."
            )
        )
    if values and spec.finite:
        _check_finite(var, da, where)


def _check_finite(var: Hashable, da: xr.DataArray, where: str) -> None:
    data = np.asarray(da.values)
    bad = ~np.isfinite(data)
    if bad.any():
        first = np.unravel_index(int(np.argmax(bad)), data.shape)
        at = {d: da[d].values[i].item() if d in da.coords else i for d, i in zip(da.dims, first)}
        raise StoreError(
            f"variable {var!r}{where} holds {int(bad.sum())} NaN/inf values (first at {at}). "
            "Drop or interpolate them upstream (e.g. bad channels, voxels outside the brain)."
        )


def _describe_dims(spec: VarSpec) -> str:
    text = " x ".join("|".join(a) for a in spec.dims)
    return text + (" [x ...]" if spec.extra_trailing_dims else "")


def _check_coord(ds: xr.Dataset, name: str, spec: CoordSpec, where: str) -> None:
    dims = spec.dims_in(ds)
    if dims is None:
        return  # the coord labels a dim this store does not use
    if name not in ds.coords:
        if spec.required:
            raise StoreError(
                f"coord {name!r} missing{where}; it labels dim {dims[0]!r}. "
                f"Assign it with ds.assign_coords({name}=(...))."
            )
        return
    coord = ds.coords[name]
    if tuple(coord.dims) != dims:
        raise StoreError(f"coord {name!r}{where} has dims {coord.dims}; expected {dims}.")
    values = np.asarray(coord.values)
    if _dtype_kind(values) not in spec.dtype_kinds:
        raise StoreError(
            f"coord {name!r}{where} has dtype {values.dtype}; expected kind(s) "
            f"{spec.dtype_kinds!r} (U/O = string, f = float, i = integer)."
        )
    if _dtype_kind(values) in "UO":
        _check_strings(name, values, where)
    if spec.unique:
        uniq, counts = np.unique(values.astype(str), return_counts=True)
        if (counts > 1).any():
            dup = uniq[counts > 1][:5].tolist()
            raise StoreError(f"coord {name!r}{where} must be unique; duplicated: {dup}.")
    if _dtype_kind(values) == "f" and not np.isfinite(values).all():
        raise StoreError(f"coord {name!r}{where} holds NaN/inf values.")


def validate(
    ds: xr.Dataset, kind: str | None = None, *, source: str | None = None, values: bool = True
) -> StoreKind:
    """Check ``ds`` against the contract of its kind and return that kind.

    ``kind`` defaults to ``ds.attrs['kind']``. ``values=False`` skips the checks that read the
    data (finite values), for cheap validation of a store opened lazily.
    """
    where = _where(source)
    kind = kind or ds.attrs.get(n.KIND)
    if kind not in KINDS:
        raise StoreError(
            f"unknown store kind {kind!r}{where}; expected one of {sorted(KINDS)} "
            f"(set attrs['{n.KIND}'])."
        )
    spec = KINDS[kind]
    for var, var_spec in spec.variables.items():
        _check_variable(ds, var, var_spec, where, values)
    if spec.per_layer:
        _check_layers(ds, where, values)
    for name, coord_spec in spec.coords.items():
        _check_coord(ds, name, coord_spec, where)
    if values and spec.check_values is not None:
        spec.check_values(ds, where)
    for attr, ok in spec.attrs.items():
        if attr not in ds.attrs:
            raise StoreError(f"attr {attr!r} missing{where}; kind {kind!r} requires it.")
        if not ok(ds.attrs[attr]):
            raise StoreError(f"attr {attr!r}{where} has invalid value {ds.attrs[attr]!r}.")
    return spec


def _check_layers(ds: xr.Dataset, where: str, values: bool) -> None:
    if not ds.data_vars:
        raise StoreError(f"activation store{where} holds no layers.")
    for layer, da in ds.data_vars.items():
        expected = (n.STIMULUS, feature_dim(str(layer)))
        if tuple(da.dims) != expected:
            raise StoreError(
                f"layer {layer!r}{where} has dims {da.dims}; expected {expected}. "
                "Reshape to stimulus x feature and record the original shape in attrs."
            )
        if da.dtype.kind != "f":
            raise StoreError(f"layer {layer!r}{where} has dtype {da.dtype}; expected float.")
        if values:
            _check_finite(layer, da, where)


def check_stimuli(
    wanted: Sequence[str], available: Sequence[str], *, wanted_from: str, available_from: str
) -> None:
    """Raise if some stimulus ids in ``wanted`` are absent from ``available``."""
    missing = sorted(set(map(str, wanted)) - set(map(str, available)))
    if missing:
        raise StoreError(
            f"{len(missing)} stimulus id(s) of {wanted_from} are absent from {available_from}: "
            f"{missing[:5]}{' ...' if len(missing) > 5 else ''}. Check that both use the ids of "
            "the same stimulus manifest."
        )
