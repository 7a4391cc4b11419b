"""The one HTML escape of the reports: every user-given text goes through :func:`escape`.

Dataset, model, region, layer, channel and file names, paths and free text from configs or
recordings are data: ``<``, ``>``, ``&`` and both quotes become entities, so that a file named
``<svg onload=alert(1)>.edf`` shows as text and never as markup (in element content and in
quoted attribute values alike).
"""

from __future__ import annotations

import html


def escape(value: object) -> str:
    """``value`` as text that is safe inside HTML elements and quoted attributes."""
    return html.escape(str(value), quote=True)
