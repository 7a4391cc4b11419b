"""A tiny array-backend seam so the ridge solvers run on numpy or torch (CPU or CUDA).

torch is imported only when a torch backend is built, so numpy-only callers never pay for it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

BACKENDS = ("numpy", "torch")
_TORCH_THREADS: list[int] = []  # thread count to apply once torch is imported


def set_torch_threads(n_threads: int) -> None:
    """Use ``n_threads`` torch intra-op threads: now if torch is imported, else when it is."""
    _TORCH_THREADS[:] = [int(n_threads)]
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(n_threads))


class NumpyBackend:
    """Array ops on numpy; always float64 unless ``dtype="float32"``."""

    name = "numpy"

    def __init__(self, dtype: str | None = None) -> None:
        self.dtype = np.dtype(dtype or "float64")
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.device = "cpu"

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def dtype_name(self) -> str:
        return self.dtype.name

    def asarray(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=self.dtype)

    def empty(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.empty(shape, dtype=self.dtype)

    def add_matmul(self, y: Any, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out = y + a @ b`` (just ``a @ b`` when ``y`` is None); ``out`` must not be ``y``."""
        np.matmul(a, b, out=out)
        return out if y is None else np.add(y, out, out=out)

    def sub_matmul_(self, y: np.ndarray, a: np.ndarray, b: np.ndarray, work: np.ndarray) -> Any:
        """``y -= a @ b`` in place, ``work`` (shaped like ``y``) holding the product."""
        np.matmul(a, b, out=work)
        return np.subtract(y, work, out=y)

    def mul_into(self, x: np.ndarray, y: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.multiply(x, y, out=out)

    def square_(self, x: np.ndarray) -> np.ndarray:
        return np.square(x, out=x)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def asindex(self, idx: Any) -> np.ndarray:
        return np.asarray(idx, dtype=np.intp)

    def svd(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Thin SVD ``x = U diag(s) Vt``."""
        return np.linalg.svd(x, full_matrices=False)

    def eigh(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues (ascending) and eigenvectors of a symmetric matrix."""
        return np.linalg.eigh(x)

    def zeros(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.zeros(shape, dtype=self.dtype)

    def stack(self, xs: list[np.ndarray]) -> np.ndarray:
        return np.stack(xs)

    def argmin(self, x: np.ndarray, axis: int) -> np.ndarray:
        return np.argmin(x, axis=axis)

    def take(self, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return x[idx]

    def clip_min(self, x: np.ndarray, value: float) -> np.ndarray:
        return np.maximum(x, value)

    def sqrt(self, x: np.ndarray) -> np.ndarray:
        return np.sqrt(x)

    def eps(self) -> float:
        return float(np.finfo(self.dtype).eps)


class TorchBackend:
    """Array ops on torch; CUDA when available. float64 on CPU, float32 on CUDA by default."""

    name = "torch"

    def __init__(self, dtype: str | None = None, device: str | None = None) -> None:
        import torch

        if _TORCH_THREADS:
            torch.set_num_threads(_TORCH_THREADS[0])
        self._torch = torch
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        if dtype not in (None, "float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        if dtype is None:
            dtype = "float64" if self.device.type == "cpu" else "float32"
        if dtype == "float32" and self.device.type != "cpu":
            log.info(
                "ridge on %s in float32 (the default on accelerators; pass dtype='float64' "
                "for double precision); recorded as the dtype used",
                self.device,
            )
        self.dtype = getattr(torch, dtype)

    @property
    def device_name(self) -> str:
        return str(self.device)

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).removeprefix("torch.")

    def empty(self, shape: tuple[int, ...]) -> Any:
        return self._torch.empty(shape, dtype=self.dtype, device=self.device)

    def add_matmul(self, y: Any, a: Any, b: Any, out: Any) -> Any:
        """``out = y + a @ b`` (just ``a @ b`` when ``y`` is None); ``out`` must not be ``y``."""
        if y is None:
            return self._torch.matmul(a, b, out=out)
        return self._torch.addmm(y, a, b, out=out)

    def sub_matmul_(self, y: Any, a: Any, b: Any, work: Any) -> Any:
        """``y -= a @ b`` in place (``work`` unused: the product is fused)."""
        return y.addmm_(a, b, alpha=-1)

    def mul_into(self, x: Any, y: Any, out: Any) -> Any:
        return self._torch.mul(x, y, out=out)

    def square_(self, x: Any) -> Any:
        return x.square_()

    def asarray(self, x: Any) -> Any:
        torch = self._torch
        if isinstance(x, torch.Tensor):
            return x.to(device=self.device, dtype=self.dtype)
        return torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        if isinstance(x, self._torch.Tensor):
            return x.detach().cpu().numpy()
        return np.asarray(x)

    def asindex(self, idx: Any) -> Any:
        return self._torch.as_tensor(np.asarray(idx, dtype=np.int64), device=self.device)

    def svd(self, x: Any) -> tuple[Any, Any, Any]:
        """Thin SVD ``x = U diag(s) Vt``."""
        return self._torch.linalg.svd(x, full_matrices=False)

    def eigh(self, x: Any) -> tuple[Any, Any]:
        """Eigenvalues (ascending) and eigenvectors of a symmetric matrix."""
        return self._torch.linalg.eigh(x)

    def zeros(self, shape: tuple[int, ...]) -> Any:
        return self._torch.zeros(shape, dtype=self.dtype, device=self.device)

    def stack(self, xs: list[Any]) -> Any:
        return self._torch.stack(xs)

    def argmin(self, x: Any, axis: int) -> Any:
        return self._torch.argmin(x, dim=axis)

    def take(self, x: Any, idx: Any) -> Any:
        return x[idx]

    def clip_min(self, x: Any, value: float) -> Any:
        return self._torch.clamp(x, min=value)

    def sqrt(self, x: Any) -> Any:
        return self._torch.sqrt(x)

    def eps(self) -> float:
        return float(self._torch.finfo(self.dtype).eps)


Backend = NumpyBackend | TorchBackend


def get_backend(
    name: str | Backend = "auto", *, dtype: str | None = None, device: str | None = None
) -> Backend:
    """Return the array backend ``"numpy"``, ``"torch"`` or ``"auto"`` (= torch).

    ``dtype`` is ``"float64"`` or ``"float32"`` (default float64, float32 on CUDA: a logged
    choice);
    ``device`` only applies to torch (default CUDA when available, else CPU).
    A backend instance is passed through unchanged.
    """
    if isinstance(name, NumpyBackend | TorchBackend):
        return name
    if name == "auto":
        name = "torch"
    if name == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(f"the numpy backend runs on 'cpu' only, got device={device!r}")
        return NumpyBackend(dtype)
    if name == "torch":
        return TorchBackend(dtype, device)
    raise ValueError(f"backend must be one of {(*BACKENDS, 'auto')}, got {name!r}")


def numerics(
    backend: str | Backend = "auto", *, dtype: str | None = None, device: str | None = None
) -> dict[str, str]:
    """``{"backend", "device", "dtype"}`` a ridge fit with these settings runs with (float64
    input; float32 input keeps float32 unless ``dtype`` says otherwise), for store attrs."""
    B = get_backend(backend, dtype=dtype, device=device)
    return {"backend": B.name, "device": B.device_name, "dtype": B.dtype_name}
