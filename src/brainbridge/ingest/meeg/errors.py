"""The one error type of M/EEG ingestion: it names the file (or key) and the fix."""

from __future__ import annotations


class IngestError(ValueError):
    """A recording, event table or setting that ingestion cannot use as it is."""
