"""M/EEG ingestion: readers, events, preprocessing, epochs / continuous stores, evoked files,
BIDS, and the per-subject QC record."""

from brainbridge.ingest.meeg.epochs import epochs_to_dataset, make_epochs, raw_to_dataset
from brainbridge.ingest.meeg.errors import IngestError
from brainbridge.ingest.meeg.events import find_events, read_event_table
from brainbridge.ingest.meeg.evoked import evoked_dataset
from brainbridge.ingest.meeg.pipeline import ingest_dataset, ingest_meeg, ingest_runs
from brainbridge.ingest.meeg.readers import read_raw

__all__ = [
    "IngestError",
    "epochs_to_dataset",
    "evoked_dataset",
    "find_events",
    "ingest_dataset",
    "ingest_meeg",
    "ingest_runs",
    "make_epochs",
    "raw_to_dataset",
    "read_event_table",
    "read_raw",
]
