"""Loading NIfTI / MGH images whole or not at all, with errors that name the file."""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np
from nilearn.image import load_img

from brainbridge.integrity import CorruptFileError, check_length, gzip_length, is_gzip


def load_nifti(img, what: str = "image") -> nib.spatialimages.SpatialImage:
    """``nilearn.image.load_img`` of a path, after checking that the file is whole.

    A gzip stream (``.nii.gz``, ``.mgz``) must pass its CRC; the (decompressed) data must be as
    long as the header says (offset + voxels x bytes). Images (not paths) pass through.
    """
    if not isinstance(img, str | os.PathLike):
        return load_img(img)
    path = Path(img)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist; check the path.")
    try:
        length = gzip_length(path) if is_gzip(path) else path.stat().st_size
        image = load_img(path)
    except CorruptFileError as err:
        raise ValueError(f"{what} {err}") from None
    except Exception as err:  # nibabel / nilearn raise many types for unreadable files
        raise ValueError(
            f"{what} {path} could not be read ({type(err).__name__}: {err}); the file may be "
            "truncated or not a NIfTI image. Export or copy it again."
        ) from err
    proxy = image.dataobj
    offset = getattr(proxy, "offset", None)
    if offset is not None:
        need = int(offset) + int(np.prod(proxy.shape)) * np.dtype(proxy.dtype).itemsize
        why = f"{offset} header bytes + {'x'.join(map(str, proxy.shape))} voxels of {proxy.dtype}"
        try:
            check_length(path, length, need, why)
        except CorruptFileError as err:
            raise ValueError(f"{what} {err}") from None
    return image
