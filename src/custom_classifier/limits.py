"""How much one request may ask for: declared once, used by the API schema, the UI and services.

The numbers bound the work and the memory one request can cost; `docs/SECURITY.md` lists them.
"""

from __future__ import annotations

MAX_LABELS = 1000
"""Labels one training request may name."""
MAX_LABEL_CHARS = 1024
"""A label is a folder name (Linux allows 255 bytes) or a path of nested folders."""
MAX_LABEL_DEPTH = 8
"""Levels of nested label folders (`sport/football` is level 2) read as a label tree."""
MAX_TREE_NODES = 1000
"""Folders a data report's tree shows; beyond it, the levels under the labels are left out."""
MAX_LOCATION_CHARS = 4095
"""A location is a path: Linux allows 4095 bytes (PATH_MAX less the NUL)."""
MAX_BASE_MODEL_CHARS = 4095
"""A Hugging Face model id or a folder path."""
MAX_TEXT_CHARS = 200_000
"""One text to classify (about 100 pages); longer documents go through `predict-file`."""
MAX_TEXTS = 1000
"""Texts in one prediction request."""
MAX_BATCH_CHARS = 1_000_000
"""Characters of all the texts of one prediction request together."""
MAX_JSON_BODY_BYTES = 8 * 1024 * 1024
"""A JSON (or form) request body; file uploads have `CC_MAX_UPLOAD_BYTES` instead. A full batch
of `MAX_BATCH_CHARS` characters fits even when every character is sent as a 6-byte escape."""
MAX_VERSION = 2**31 - 1
"""The largest model version number (MLflow keeps versions as 32-bit integers)."""
MAX_ID = 2**63 - 1
"""The largest database id (a 64-bit integer column)."""
