"""Cross-validated decoding of brain stores."""

from brainbridge.decode.categories import decode_categories
from brainbridge.decode.sliding import DecodingResult, band_power, decode_over_time

__all__ = ["DecodingResult", "band_power", "decode_categories", "decode_over_time"]
