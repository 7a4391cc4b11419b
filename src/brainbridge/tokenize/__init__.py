"""Brain tokenizers (pure torch, no Snakemake): a shared vector quantizer, a single-channel
time-frequency tokenizer (``tfm``), a sensor-aware multichannel RVQ tokenizer (``sensor``),
streamed training from brain stores, tokenizing into ``tokens`` stores, and probes."""

from brainbridge.tokenize.checkpoint import CheckpointError, load_model, save_model
from brainbridge.tokenize.config import TokenizerConfigError, resolve
from brainbridge.tokenize.data import TokenizerDataError, open_source, scan
from brainbridge.tokenize.models import SENSOR_TYPES, SensorTokenizer, TFMTokenizer, build
from brainbridge.tokenize.quantizer import QuantizerError, ResidualVQ, VectorQuantizer, kmeans
from brainbridge.tokenize.tokens import as_brain, token_histograms, tokenize
from brainbridge.tokenize.train import train

__all__ = [
    "SENSOR_TYPES",
    "CheckpointError",
    "QuantizerError",
    "ResidualVQ",
    "SensorTokenizer",
    "TFMTokenizer",
    "TokenizerConfigError",
    "TokenizerDataError",
    "VectorQuantizer",
    "as_brain",
    "build",
    "kmeans",
    "load_model",
    "open_source",
    "resolve",
    "save_model",
    "scan",
    "token_histograms",
    "tokenize",
    "train",
]
