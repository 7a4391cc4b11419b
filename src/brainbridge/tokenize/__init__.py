"""Brain tokenizers (pure torch, no Snakemake): a shared vector quantizer, a single-channel
time-frequency tokenizer (``tfm``), a sensor-aware multichannel RVQ tokenizer (``sensor``),
streamed training from brain stores, tokenizing into ``tokens`` stores, and probes.

Attributes are imported on first use (:mod:`brainbridge.lazy`), so reading a token store
(:mod:`.readout`) or a tokenizer config does not import torch.
"""

from brainbridge.lazy import lazy_attributes

LAZY = {
    "CheckpointError": "brainbridge.tokenize.checkpoint",
    "load_model": "brainbridge.tokenize.checkpoint",
    "save_model": "brainbridge.tokenize.checkpoint",
    "TokenizerConfigError": "brainbridge.tokenize.config",
    "resolve": "brainbridge.tokenize.config",
    "TokenizerDataError": "brainbridge.tokenize.data",
    "open_source": "brainbridge.tokenize.data",
    "scan": "brainbridge.tokenize.data",
    "SENSOR_TYPES": "brainbridge.tokenize.models",
    "SensorTokenizer": "brainbridge.tokenize.models",
    "TFMTokenizer": "brainbridge.tokenize.models",
    "build": "brainbridge.tokenize.models",
    "QuantizerError": "brainbridge.tokenize.quantizer",
    "ResidualVQ": "brainbridge.tokenize.quantizer",
    "VectorQuantizer": "brainbridge.tokenize.quantizer",
    "kmeans": "brainbridge.tokenize.quantizer",
    "as_brain": "brainbridge.tokenize.readout",
    "token_histograms": "brainbridge.tokenize.readout",
    "tokenize": "brainbridge.tokenize.tokens",
    "train": "brainbridge.tokenize.train",
}
__all__ = sorted(LAZY)
__getattr__, __dir__ = lazy_attributes(__name__, LAZY)
