"""BIDS entity labels against configured values (shared by the M/EEG and fMRI BIDS readers)."""

from __future__ import annotations


def label_matches(label, wanted) -> bool:
    """A BIDS entity label equals a configured value, numerically when both are numbers.

    YAML reads ``run: 4`` or ``subject: 01`` as integers while files are often zero-padded
    (``run-04``, ``sub-01``): ``4`` finds ``run-04`` and ``1`` finds ``sub-01``; ``None`` (an
    absent entity) matches nothing.
    """
    if label is None:
        return False
    label, wanted = str(label), str(wanted)
    return label == wanted or (label.isdigit() and wanted.isdigit() and int(label) == int(wanted))
