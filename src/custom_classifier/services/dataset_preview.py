"""What a folder would give before anything is queued: its labels, counts, skips and problems."""

from __future__ import annotations

from collections.abc import Sequence

from custom_classifier.config import Settings
from custom_classifier.corpus.label_tree import Levels
from custom_classifier.corpus.models import DataReport
from custom_classifier.corpus.reader import FLAT, inspect_corpus, list_label_folders
from custom_classifier.services.datasets import resolve_user_location
from custom_classifier.services.users import Identity


def preview_location(
    settings: Settings,
    user: Identity,
    location: str,
    labels: Sequence[str] | None = None,
    levels: Levels = FLAT,
) -> DataReport:
    """The data report of `labels` (default: every label folder) under a location the user may
    read, at the level of the label tree `levels` asks for, with the folder tree and its counts.

    The same checks as submitting a training; raises only for a location that is not allowed or
    not a folder.
    """
    root = resolve_user_location(location, user.username, settings)
    wanted = list(labels) if labels is not None else list_label_folders(root)
    # The default training mode, `auto`: the report says whether the folder reads as multi-label.
    corpus = inspect_corpus(
        root, wanted, min_docs_per_label=settings.min_docs_per_label, mode="auto", levels=levels
    )
    return corpus.report
