"""Datasets: upload a zip of label folders into your area; browse the data roots."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, UploadFile, status

from custom_classifier import limits
from custom_classifier.api.deps import CurrentUser, SettingsDep
from custom_classifier.api.responses import errors
from custom_classifier.api.schemas import DatasetPublic, FolderListingPublic
from custom_classifier.services import datasets

router = APIRouter(prefix="/datasets", tags=["datasets"])


@router.post(
    "",
    response_model=DatasetPublic,
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        409,
        413,
        422,
        status_409="A dataset with this `name` already exists in your area.",
        status_413="Too large, too many files, or a zip bomb.",
        status_422="Not a zip, unsafe or unreadable entries.",
    ),
)
def upload_dataset(
    file: UploadFile,
    user: CurrentUser,
    settings: SettingsDep,
    name: Annotated[str | None, Form(max_length=100)] = None,
) -> DatasetPublic:
    """Unpack a zip with one folder per label into `<data root>/users/<you>/<name>`."""
    info = datasets.unpack_dataset(
        file.file, file.filename or "dataset.zip", user.username, settings, name=name
    )
    return DatasetPublic.from_info(info)


@router.get("/browse", response_model=FolderListingPublic, responses=errors(422))
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
    """Folders you may train on, with their document counts (label folders are sub-folders)."""
    return FolderListingPublic.from_listing(datasets.browse(path, user.username, settings))
