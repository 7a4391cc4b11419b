"""Tokenizer settings: defaults, checks (each naming the key and the fix), model keys."""

from __future__ import annotations

from typing import Any

KINDS = ("tfm", "sensor")
#: what a ``tfm`` token sees of each STFT frame: log amplitude alone, or the complex spectrum
#: with its amplitude log-compressed and its phase kept (the sign of evoked responses)
SPECTRA = ("amplitude", "complex")

COMMON = {
    "sfreq": None,  # required: the sampling rate the tokenizer works at (Hz)
    "segment": 200,  # samples per window fed to the tokenizer
    "dim": 32,
    "depth": 1,
    "heads": 2,
    "codebook_size": 64,
    "codebook_dim": 8,
    "decay": 0.95,
    "commitment": 0.25,
    "kmeans_iters": 10,
    "dead_threshold": 0.5,
    "epochs": 3,
    "batch_size": 32,
    "learning_rate": 0.002,
    "max_windows": 0,  # windows per epoch (0: all)
    "device": "cpu",
}
SPECIFIC = {
    "tfm": {"stft_window": 32, "hop": 16, "patch": 2, "mask_ratio": 0.0, "spectrum": "amplitude"},
    "sensor": {"patch": 20, "n_sources": 8, "levels": 2},
}
#: keys that define the network (a checkpoint fits data only if these match)
ARCH = {
    "tfm": ("kind", "sfreq", "segment", "dim", "depth", "heads", "codebook_size",
            "codebook_dim", "stft_window", "hop", "patch", "spectrum"),
    "sensor": ("kind", "sfreq", "segment", "dim", "depth", "heads", "codebook_size",
               "codebook_dim", "patch", "n_sources", "levels"),
}  # fmt: skip


class TokenizerConfigError(ValueError):
    """A tokenizer setting that cannot work."""


def resolve(cfg: dict[str, Any], name: str = "tokenizer") -> dict[str, Any]:
    """``cfg`` with defaults filled in, checked; raises naming ``tokenizers.NAME.key``."""
    kind = cfg.get("kind", "tfm")
    key = f"tokenizers.{name}"
    if kind not in KINDS:
        raise TokenizerConfigError(f"{key}.kind is {kind!r}; choose one of {list(KINDS)}.")
    out = {**COMMON, **SPECIFIC[kind], **cfg, "kind": kind}
    unknown = sorted(
        set(out) - set(COMMON) - set(SPECIFIC[kind]) - {"kind", "datasets", "tokenize"}
    )
    if unknown:
        raise TokenizerConfigError(f"{key}: unknown key(s) {unknown} for kind {kind!r}.")
    if not out["sfreq"] or float(out["sfreq"]) <= 0:
        raise TokenizerConfigError(
            f"{key}.sfreq is missing; give the sampling rate of the brain stores (Hz), "
            "e.g. the dataset's preprocessing.resample."
        )
    for k in ("segment", "dim", "depth", "heads", "codebook_dim", "epochs", "batch_size"):
        if int(out[k]) < 1:
            raise TokenizerConfigError(f"{key}.{k} is {out[k]}; it must be at least 1.")
    if int(out["codebook_size"]) < 1:
        raise TokenizerConfigError(
            f"{key}.codebook_size is {out['codebook_size']}; a codebook needs at least one "
            "code: set it to e.g. 64."
        )
    if int(out["dim"]) % int(out["heads"]):
        raise TokenizerConfigError(f"{key}.dim ({out['dim']}) must be a multiple of heads.")
    if kind == "tfm":
        _check_tfm(out, key)
    else:
        _check_sensor(out, key)
    return out


def _check_tfm(out: dict, key: str) -> None:
    win, hop, seg = int(out["stft_window"]), int(out["hop"]), int(out["segment"])
    if win < 2 or hop < 1:
        raise TokenizerConfigError(f"{key}: stft_window must be >= 2 and hop >= 1.")
    if hop > win:
        raise TokenizerConfigError(
            f"{key}.hop ({hop}) is larger than {key}.stft_window ({win}): samples between "
            "windows would never be seen. Set hop <= stft_window (e.g. stft_window / 2)."
        )
    if win > seg:
        raise TokenizerConfigError(
            f"{key}.stft_window ({win}) is longer than {key}.segment ({seg}); "
            "lengthen the segment or shorten the STFT window."
        )
    frames = 1 + (seg - win) // hop
    if int(out["patch"]) < 1 or frames < int(out["patch"]):
        raise TokenizerConfigError(
            f"{key}.patch ({out['patch']}) needs {out['patch']} STFT frames per token but a "
            f"segment gives {frames}; lower patch or lengthen the segment."
        )
    if not 0.0 <= float(out["mask_ratio"]) < 1.0:
        raise TokenizerConfigError(f"{key}.mask_ratio must lie in [0, 1).")
    if out["spectrum"] not in SPECTRA:
        raise TokenizerConfigError(
            f"{key}.spectrum is {out['spectrum']!r}; choose one of {list(SPECTRA)}."
        )


def _check_sensor(out: dict, key: str) -> None:
    if int(out["patch"]) < 1 or int(out["patch"]) > int(out["segment"]):
        raise TokenizerConfigError(
            f"{key}.patch ({out['patch']}) must lie between 1 and segment ({out['segment']})."
        )
    for k in ("n_sources", "levels"):
        if int(out[k]) < 1:
            raise TokenizerConfigError(f"{key}.{k} is {out[k]}; it must be at least 1.")


def arch(cfg: dict) -> dict:
    """The keys that define the network."""
    return {k: cfg[k] for k in ARCH[cfg["kind"]]}
