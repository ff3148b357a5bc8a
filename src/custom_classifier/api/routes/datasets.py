"""Datasets: upload a zip of label folders into your area; browse the data roots."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile, status

from custom_classifier import limits
from custom_classifier.api import examples
from custom_classifier.api.deps import CurrentUser, SettingsDep
from custom_classifier.api.responses import errors
from custom_classifier.api.schemas import (
    DataReportCreate,
    DataReportPublic,
    DatasetPublic,
    FolderListingPublic,
)
from custom_classifier.corpus.label_tree import Levels
from custom_classifier.services import dataset_preview, datasets

router = APIRouter(prefix="/datasets", tags=["datasets"])


@router.post(
    "",
    response_model=DatasetPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a zip of label folders",
    responses=errors(
        409,
        413,
        422,
        status_409="A dataset with this `name` already exists in your area.",
        status_413="Too large, too many files, or a zip bomb.",
        status_422="Not a zip, unsafe or unreadable entries.",
        own_examples={
            409: examples.DATASET_EXISTS,
            413: examples.UPLOAD_TOO_LARGE,
            422: examples.UNSUPPORTED_UPLOAD,
        },
    ),
    openapi_extra=examples.curl_sample(
        'curl -H "Authorization: Bearer $CC_API_KEY" -F file=@invoices-2024.zip '
        "-F name=invoices-2024 http://localhost:8000/api/v1/datasets"
    ),
)
def upload_dataset(
    file: Annotated[
        UploadFile,
        File(description="A .zip with one folder per label, e.g. `invoice/`, `receipt/`."),
    ],
    user: CurrentUser,
    settings: SettingsDep,
    name: Annotated[
        str | None,
        Form(
            max_length=100,
            description="The folder name; default: the zip's name.",
            examples=["invoices-2024"],
        ),
    ] = None,
) -> DatasetPublic:
    """Unpack a zip with one folder per label into your area, `<data root>/users/<you>/<name>`,
    and answer its `location` (give it to `POST /classifiers`) and the documents per label.
    Example: `curl -H "Authorization: Bearer $CC_API_KEY" -F file=@invoices-2024.zip
    http://localhost:8000/api/v1/datasets`."""
    info = datasets.unpack_dataset(
        file.file, file.filename or "dataset.zip", user.username, settings, name=name
    )
    return DatasetPublic.from_info(info)


@router.get(
    "/browse",
    response_model=FolderListingPublic,
    summary="Browse the data folders",
    responses=errors(422),
)
def browse(
    user: CurrentUser,
    settings: SettingsDep,
    path: Annotated[
        str | None,
        Query(
            max_length=limits.MAX_LOCATION_CHARS,
            description="A folder; none lists the data roots.",
        ),
    ] = None,
) -> FolderListingPublic:
    """Folders you may train on, with their document counts: without `path`, the data roots;
    with it, that folder's sub-folders. A folder to train on holds one sub-folder per label."""
    return FolderListingPublic.from_listing(datasets.browse(path, user.username, settings))


@router.post(
    "/report",
    response_model=DataReportPublic,
    summary="The data report of a folder, before training",
    responses=errors(422, status_422="The location is not allowed or not a folder."),
    openapi_extra=examples.curl_sample(
        'curl -H "Authorization: Bearer $CC_API_KEY" -H "Content-Type: application/json" '
        """-d '{"location": "users/alice/news", "depth": 2}' """
        "http://localhost:8000/api/v1/datasets/report"
    ),
)
def data_report(
    body: DataReportCreate, user: CurrentUser, settings: SettingsDep
) -> DataReportPublic:
    """What training on `location` would read, nothing queued: the labels at the level asked
    (`depth`: 1 the top-level folders, 2 their sub-folders; `hierarchical`: the deepest), the
    documents found, used and skipped per label, the folder tree with counts per node, and every
    problem. The same checks as `POST /classifiers`; an empty `problems` list means it trains."""
    levels = Levels(depth=body.depth, hierarchical=body.hierarchical)
    report = dataset_preview.preview_location(settings, user, body.location, body.labels, levels)
    return DataReportPublic.from_report(report)
