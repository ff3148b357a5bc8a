"""Example bodies shown in the OpenAPI document (`/docs`, `/redoc`), written from real answers."""

from __future__ import annotations

from typing import Any

RUN_ID = "3f2c9a8e41d04b7d9c5e2a1b0f6d8c47"
JOB_ID = "5f0c0d3c0e2a4f7b9d1c2b3a4e5f6a7b"
CREATED_AT = "2026-11-30T09:12:44Z"


def error(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """An error envelope, as every error answer carries it."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


UNAUTHENTICATED: dict[str, Any] = error(
    "unauthenticated", "an API key is required; send `Authorization: Bearer <key>`"
)
NOT_FOUND: dict[str, Any] = error(
    "classifier_not_found",
    "no classifier named 'nope'; the classifiers that exist: invoices, support-messages",
    {"name": "nope", "classifiers": ["invoices", "support-messages"]},
)
INVALID_REQUEST: dict[str, Any] = error(
    "invalid_request",
    "the request is not valid: body.labels: List should have at least 2 items after validation, "
    "not 1",
    {"errors": [{"location": ["body", "labels"], "message": "List should have at least 2 items"}]},
)
INVALID_DATASET: dict[str, Any] = error(
    "invalid_dataset",
    "the labeled folder /srv/data/users/alice/invoices-2024 cannot be used for training: "
    "label folder 'receipt' has 37 usable documents; at least 100 are required",
    {"report": {"root": "/srv/data/users/alice/invoices-2024", "problems": ["..."]}},
)
USER_EXISTS: dict[str, Any] = error(
    "conflict", "user 'alice' already exists", {"username": "alice"}
)
DATASET_EXISTS: dict[str, Any] = error(
    "conflict",
    "a dataset named 'invoices-2024' already exists in your area; choose another name",
    {"name": "invoices-2024"},
)
NOT_READY: dict[str, Any] = error(
    "service_unavailable",
    "not ready: job_queue",
    {
        "checks": {
            "metadata_database": "ok",
            "admin_database": "ok",
            "mlflow": "ok",
            "job_queue": "error: ServiceUnavailableError",
        }
    },
)
JOB_EVENTS = (
    'event: job\ndata: {"id": "5f0c0d3c...", "status": "running", "progress": {...}, ...}\n\n'
    'event: end\ndata: {"id": "5f0c0d3c...", "status": "accepted", ...}\n\n'
)
FORBIDDEN: dict[str, Any] = error("forbidden", "this action needs the admin role")
CONFLICT: dict[str, Any] = error(
    "job_not_cancellable",
    f"job {JOB_ID} already ended (accepted); only queued or running jobs can be cancelled",
    {"job_id": JOB_ID, "status": "accepted"},
)
REQUEST_TOO_LARGE: dict[str, Any] = error(
    "request_too_large",
    "the request body is larger than the 8388608 bytes accepted; send fewer or shorter texts "
    "per request, or upload large documents as files",
    {"limit": 8388608},
)
INTERNAL_ERROR: dict[str, Any] = error(
    "internal_error",
    "an unexpected error happened on the server; it has been logged as 9c1f0a2b7d4e: quote "
    "this id when you report the problem",
    {"error_id": "9c1f0a2b7d4e"},
)
SERVICE_UNAVAILABLE: dict[str, Any] = error(
    "service_unavailable",
    "the job queue at redis://redis:6379/0 is not reachable; try again later",
)
UPLOAD_TOO_LARGE: dict[str, Any] = error(
    "upload_too_large", "the file is larger than 52428800 bytes", {"limit": 52428800}
)
UNSUPPORTED_UPLOAD: dict[str, Any] = error(
    "unsupported_upload", "the upload is not a zip file; send a .zip with one folder per label"
)

PREDICTION: dict[str, Any] = {
    "label": "invoice",
    "score": 0.93,
    "abstained": False,
    "scores": {"invoice": 0.93, "other": 0.07},
}

HIERARCHICAL_PREDICTION: dict[str, Any] = {
    "label": "sport/football",
    "score": 0.71,
    "abstained": False,
    "scores": {"sport/football": 0.71, "sport/tennis": 0.17, "business": 0.12},
    "path": [{"label": "sport", "score": 0.88}, {"label": "sport/football", "score": 0.71}],
}

VERSION: dict[str, Any] = {
    "version": 2,
    "run_id": RUN_ID,
    "created_at": CREATED_AT,
    "model_uri": "models:/alice.invoices/2",
    "aliases": ["champion"],
    "metrics": {"test_macro_f1": 0.94, "test_accuracy": 0.95, "baseline_macro_f1": 0.88},
    "min_score": 0.0,
}
CLASSIFIER: dict[str, Any] = {
    "name": "invoices",
    "registered_name": "alice.invoices",
    "created_at": "2026-11-28T16:03:10Z",
    "aliases": {"champion": 2},
    "versions": [VERSION],
}
JOB: dict[str, Any] = {
    "id": JOB_ID,
    "name": "invoices",
    "status": "running",
    "location": "/srv/data/users/alice/invoices-2024",
    "labels": ["invoice", "receipt", "other"],
    "progress": {
        "phase": "training",
        "step": 40,
        "total_steps": 200,
        "epoch": 1.6,
        "loss": 0.41,
        "eta_seconds": 410.0,
    },
    "curves": {
        "loss": [{"x": 0.8, "y": 1.05, "step": 20}, {"x": 1.6, "y": 0.41, "step": 40}],
        "validation": [{"x": 1.0, "macro_f1": 0.81, "accuracy": 0.84}],
    },
    "metrics": None,
    "reasons": [],
    "base_model": None,
    "bakeoff": None,
    "run_id": RUN_ID,
    "registered_model": None,
    "error": None,
    "attempts": 1,
    "cancel_requested": False,
    "created_at": CREATED_AT,
    "started_at": "2026-11-30T09:12:46Z",
    "finished_at": None,
    "history": [],
}
USER: dict[str, Any] = {
    "username": "alice",
    "is_admin": False,
    "is_active": True,
    "created_at": CREATED_AT,
}
API_KEY: dict[str, Any] = {
    "id": 7,
    "name": "laptop",
    "prefix": "8f3ka1c09b2e",
    "created_at": CREATED_AT,
    "last_used_at": "2026-11-30T10:01:02Z",
    "revoked_at": None,
}
NEW_API_KEY: dict[str, Any] = {
    **API_KEY,
    "last_used_at": None,
    "key": "cc_8f3ka1c09b2e_Qm9uam91ci1jZS1uJ2VzdC1xdSd1bi1leGVtcGxlLg",
}
DATASET: dict[str, Any] = {
    "name": "invoices-2024",
    "location": "users/alice/invoices-2024",
    "labels": {"invoice": 412, "other": 230, "receipt": 198},
    "files": 840,
}
DATA_REPORT: dict[str, Any] = {
    "root": "/srv/data/users/alice/news",
    "labels": [
        {"label": "sport/football", "found": 412, "used": 409, "skipped": {"duplicate": 3}},
        {"label": "sport/tennis", "found": 97, "used": 97, "skipped": {}},
        {"label": "business", "found": 510, "used": 510, "skipped": {}},
    ],
    "available_labels": ["business", "sport"],
    "problems": [
        {
            "code": "too_few_documents",
            "message": "label folder 'sport/tennis' has 97 usable documents (97 found, 0 "
            "skipped); at least 100 are required. Add documents or lower CC_MIN_DOCS_PER_LABEL.",
            "label": "sport/tennis",
        }
    ],
    "min_docs_per_label": 100,
    "depth": 2,
    "hierarchical": False,
    "tree": [
        {
            "label": "business",
            "name": "business",
            "documents": 510,
            "used": 510,
            "left_out": 0,
            "trained": True,
            "children": [],
        },
        {
            "label": "sport",
            "name": "sport",
            "documents": 509,
            "used": 506,
            "left_out": 0,
            "trained": False,
            "children": [
                {
                    "label": "sport/football",
                    "name": "football",
                    "documents": 412,
                    "used": 409,
                    "left_out": 0,
                    "trained": True,
                    "children": [],
                },
                {
                    "label": "sport/tennis",
                    "name": "tennis",
                    "documents": 97,
                    "used": 97,
                    "left_out": 0,
                    "trained": True,
                    "children": [],
                },
            ],
        },
    ],
    "mode": "single",
    "mode_note": None,
}
FOLDER_LISTING: dict[str, Any] = {
    "path": "users/alice",
    "parent": None,
    "documents": 840,
    "folders": [{"name": "invoices-2024", "path": "users/alice/invoices-2024", "documents": 840}],
}
BASE_MODEL: dict[str, Any] = {
    "name": "minilm",
    "source": "bundled:minilm",
    "kind": "encoder",
    "parameters": 22713216,
    "context_window": 512,
    "fine_tuning": "full",
    "description": "all-MiniLM-L6-v2, shipped with the product: fast on a CPU",
    "available": True,
    "offline": True,
    "reason": None,
    "builtin": True,
}
MLFLOW_LOGIN: dict[str, Any] = {
    "url": "https://classifiers.example.com/mlflow",
    "username": "alice",
    "password": "r7Vq...generated",
}


def listing(item: dict[str, Any]) -> dict[str, Any]:
    """A list answer: `data` and `count`."""
    return {"data": [item], "count": 1}


def curl_sample(command: str) -> dict[str, Any]:
    """A code sample for ReDoc's right-hand panel (the `x-codeSamples` extension)."""
    return {"x-codeSamples": [{"lang": "Shell", "label": "curl", "source": command}]}
