"""A tiny array-backend seam so the ridge solvers run on numpy or torch (CPU or CUDA)."""

from __future__ import annotations

from typing import Any

import numpy as np

BACKENDS = ("numpy", "torch")


class NumpyBackend:
    """Array ops on numpy; always float64 unless ``dtype="float32"``."""

    name = "numpy"

    def __init__(self, dtype: str | None = None) -> None:
        self.dtype = np.dtype(dtype or "float64")
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.device = "cpu"

    def asarray(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=self.dtype)

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

        self._torch = torch
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        if dtype is None:
            dtype = "float64" if self.device.type == "cpu" else "float32"
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.dtype = getattr(torch, dtype)

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

    ``dtype`` is ``"float64"`` or ``"float32"`` (default float64, float32 on CUDA);
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
