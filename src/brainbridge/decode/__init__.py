"""Cross-validated decoding of brain stores.

Attributes are imported on first use (:mod:`brainbridge.lazy`): the category decoder needs
neither MNE nor the time-resolved estimators, and the identification decoders need no torch
unless the contrastive decoder runs.
"""

from brainbridge.lazy import lazy_attributes

LAZY = {
    "DecodingResult": "brainbridge.decode.sliding",
    "band_power": "brainbridge.decode.sliding",
    "decode_categories": "brainbridge.decode.categories",
    "decode_over_time": "brainbridge.decode.sliding",
}
__all__ = sorted(LAZY)
__getattr__, __dir__ = lazy_attributes(__name__, LAZY)
