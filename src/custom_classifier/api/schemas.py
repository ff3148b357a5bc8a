"""Request (`*Create`) and response (`*Public`) bodies of the REST API, with OpenAPI examples."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

from custom_classifier import limits
from custom_classifier.api import examples
from custom_classifier.corpus.models import DataReport
from custom_classifier.jobs.contract import JobProgress, JobResult, TrainingRequest
from custom_classifier.registry.info import ClassifierInfo, VersionInfo
from custom_classifier.services.datasets import DatasetInfo, FolderListing
from custom_classifier.storage.clock import as_utc
from custom_classifier.storage.tables import ApiKeyRecord, JobRecord, UserRecord
from custom_classifier.training.arguments import (
    AcceptanceCriteria,
    TrainingArguments,
    declared_limits,
)
from custom_classifier.training.curves import TrainingCurves

MAX_TEXTS = limits.MAX_TEXTS

UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
"""Always with a zone in answers, also when SQLite stored it without one."""


def _valid_unicode(value: Any) -> Any:
    """JSON may carry a lone surrogate (`"\\ud800"`); no file name, tokenizer or answer can."""
    if not isinstance(value, str):
        return value  # the string schema after it refuses it
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"the text is not valid Unicode: a lone surrogate ({value[error.start]!r}) at "
            f"character {error.start}; send UTF-8 text (surrogates only in valid pairs)"
        ) from None
    return value


ValidUnicode = BeforeValidator(_valid_unicode)
"""Checked before the string's length, which pydantic cannot measure with a lone surrogate."""
Label = Annotated[
    str, StringConstraints(min_length=1, max_length=limits.MAX_LABEL_CHARS), ValidUnicode
]
Location = Annotated[
    str, StringConstraints(min_length=1, max_length=limits.MAX_LOCATION_CHARS), ValidUnicode
]
BaseModelName = Annotated[
    str, StringConstraints(min_length=1, max_length=limits.MAX_BASE_MODEL_CHARS), ValidUnicode
]
PredictionText = Annotated[str, StringConstraints(max_length=limits.MAX_TEXT_CHARS), ValidUnicode]


def _refuse_unknown_fields(value: Any, cls: type, field_name: str) -> None:
    if isinstance(value, dict):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(
                f"unknown {field_name} option(s) {unknown}; known options: {sorted(known)}"
            )


class ClassifierCreate(BaseModel):
    """Train a new classifier (or a new version of one) from a folder of label sub-folders."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "invoices",
                    "location": "users/alice/invoices-2024",
                    "labels": ["invoice", "receipt", "other"],
                    "training": {"epochs": 3, "long_document_strategy": "chunks"},
                    "acceptance": {"min_macro_f1": 0.85},
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    location: Location = Field(
        description="A folder inside a data root; relative to the first root."
    )
    labels: list[Label] = Field(
        min_length=2,
        max_length=limits.MAX_LABELS,
        description="Sub-folders of `location` to train on.",
    )
    base_model: BaseModelName | None = Field(
        default=None,
        description="A preset name (GET /base-models), a Hugging Face id, a local folder or a "
        ".gguf file. Default: the bundled MiniLM.",
    )
    base_models: list[BaseModelName] | None = Field(
        default=None,
        min_length=1,
        max_length=8,
        description="A bake-off: each base model (or `auto`: every preset available offline "
        "that fits the machine) trains on the same split; the best on the validation "
        "documents, among equals the cheapest to serve, is judged and registered. Replaces "
        "`base_model`.",
    )
    training: TrainingArguments | None = None
    acceptance: AcceptanceCriteria | None = None

    @model_validator(mode="before")
    @classmethod
    def _known_options_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            _refuse_unknown_fields(data.get("training"), TrainingArguments, "training")
            _refuse_unknown_fields(data.get("acceptance"), AcceptanceCriteria, "acceptance")
            if data.get("base_model") is not None and data.get("base_models") is not None:
                raise ValueError(
                    "give either base_model (one model) or base_models (a bake-off), not both"
                )
        return data

    def to_request(self) -> TrainingRequest:
        return TrainingRequest(
            name=self.name,
            location=self.location,
            labels=self.labels,
            base_model=self.base_model,
            base_models=tuple(self.base_models or ()),
            training=self.training or TrainingArguments(),
            acceptance=self.acceptance or AcceptanceCriteria(),
        )


class CandidateProgressPublic(BaseModel):
    name: str = Field(description="The base model of the bake-off now training.")
    number: int
    of: int


class ProgressPublic(BaseModel):
    phase: str | None = Field(
        default=None,
        description="reading, preparing, training, evaluating, logging, int8 (registered: the "
        "int8 CPU file is made and checked while the exact model serves), done.",
    )
    candidate: CandidateProgressPublic | None = Field(
        default=None, description="In a bake-off: which base model this progress is about."
    )
    step: int | None = None
    total_steps: int | None = None
    epoch: float | None = None
    loss: float | None = None
    eta_seconds: float | None = Field(default=None, description="Estimated seconds left.")
    validation: dict[str, float] | None = None

    @classmethod
    def from_progress(cls, progress: JobProgress | None) -> ProgressPublic | None:
        return None if progress is None else cls.model_validate(progress.to_row())


class LossPointPublic(BaseModel):
    x: float = Field(description="Fractional epochs done: 1.5 is half-way through epoch 2.")
    y: float = Field(description="Mean training loss of the steps since the previous point.")
    step: int


class ValidationPointPublic(BaseModel):
    x: float = Field(description="The epoch that ended.")
    macro_f1: float
    accuracy: float


class CurvesPublic(BaseModel):
    """Every point so far, recorded by the training whether anyone watches or not."""

    loss: list[LossPointPublic] = Field(default_factory=list)
    validation: list[ValidationPointPublic] = Field(
        default_factory=list, description="One point per epoch (none without a validation split)."
    )

    @classmethod
    def from_row(cls, row: dict[str, Any] | None) -> CurvesPublic:
        curves = TrainingCurves.from_row(row)
        return cls.model_validate({"loss": curves.loss, "validation": curves.validation})


class ErrorPublic(BaseModel):
    code: str
    message: str


class RegisteredModelPublic(BaseModel):
    name: str
    version: int


class JobPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.JOB]})

    id: str
    name: str
    status: str
    location: str
    labels: list[str]
    progress: ProgressPublic | None = None
    curves: CurvesPublic = Field(default_factory=CurvesPublic)
    metrics: dict[str, Any] | None = None
    reasons: list[str] = Field(default_factory=list, description="Why it was rejected.")
    base_model: str | None = Field(default=None, description="Base model of the judged model.")
    bakeoff: list[dict[str, Any]] | None = Field(
        default=None,
        description="A bake-off's table: per candidate its validation and test macro-F1, "
        "training seconds, CPU/GPU milliseconds per document, size and `winner`.",
    )
    gate: dict[str, Any] | None = Field(
        default=None,
        description="What the acceptance gate measured: `intervals` (95 % bootstrap of macro-F1, "
        "accuracy, each label's F1), the paired comparisons with the TF-IDF `baseline` and the "
        "`champion` (verdict, difference and its interval, McNemar p), `served` (the int8 file "
        "beside the exact model), `calibration` (temperature, ECE before and after, a suggested "
        "`min_score`, the reliability diagram's bins), `shared_test` (how many test documents "
        "were the champion's too: they stay test documents), and the decision: `accepted`, "
        "`promoted`, `alias`, `reasons`, `notes`.",
    )
    data_report: dict[str, Any] | None = Field(
        default=None,
        description="What was read: per label the documents found, used and skipped, the "
        "problems, and the `mode` the documents were read in (`mode_note`: how `auto` chose).",
    )
    baseline: dict[str, Any] | None = Field(
        default=None, description="The TF-IDF baseline's scores on the same test documents."
    )
    run_id: str | None = None
    registered_model: RegisteredModelPublic | None = None
    error: ErrorPublic | None = None
    attempts: int = 0
    cancel_requested: bool = False
    created_at: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def from_record(cls, job: JobRecord) -> JobPublic:
        registered = None
        if job.registered_name and job.registered_version is not None:
            registered = RegisteredModelPublic(
                name=job.registered_name, version=job.registered_version
            )
        error = None
        if job.error_code:
            error = ErrorPublic(code=job.error_code, message=job.error_message or "")
        result = JobResult.from_row(job.result)
        return cls(
            id=job.id,
            name=job.name,
            status=job.status,
            location=job.location,
            labels=job.labels,
            progress=ProgressPublic.from_progress(JobProgress.from_row(job.progress)),
            curves=CurvesPublic.from_row(job.curves),
            metrics=job.metrics,
            reasons=result.reasons,
            base_model=result.base_model,
            bakeoff=result.bakeoff,
            gate=result.gate,
            data_report=result.report,
            baseline=result.baseline,
            run_id=job.run_id,
            registered_model=registered,
            error=error,
            attempts=job.attempts,
            cancel_requested=job.cancel_requested,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            history=job.history or [],
        )


class JobsPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.listing(examples.JOB)]})

    data: list[JobPublic]
    count: int


class VersionPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.VERSION]})

    version: int
    run_id: str | None
    created_at: UtcDatetime
    model_uri: str
    aliases: list[str]
    metrics: dict[str, float]
    min_score: float | None = Field(
        default=None,
        description="The abstain threshold predictions of this version apply (null: a version "
        "registered before it was recorded here; it applies the one set at training).",
    )

    @classmethod
    def from_info(cls, info: VersionInfo) -> VersionPublic:
        return cls(**dataclasses.asdict(info))


class ClassifierPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CLASSIFIER]})

    name: str
    registered_name: str
    created_at: UtcDatetime
    aliases: dict[str, int]
    versions: list[VersionPublic] = Field(description="Newest first.")

    @classmethod
    def from_info(cls, info: ClassifierInfo) -> ClassifierPublic:
        return cls(
            name=info.name,
            registered_name=info.registered_name,
            created_at=info.created_at,
            aliases=info.aliases,
            versions=[VersionPublic.from_info(v) for v in info.versions],
        )


class ClassifiersPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [examples.listing(examples.CLASSIFIER)]}
    )

    data: list[ClassifierPublic]
    count: int


class AliasUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"version": 2}]})

    version: StrictInt = Field(ge=1, le=limits.MAX_VERSION, description="Not a boolean.")


_MIN_SCORE_LIMITS = declared_limits(TrainingArguments, "min_score")


class MinScoreUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"min_score": 0.9}]})

    min_score: float = Field(
        ge=_MIN_SCORE_LIMITS[0],
        le=_MIN_SCORE_LIMITS[1],
        strict=True,
        description="Abstain threshold: a prediction whose calibrated score is below it answers "
        "`label` null and `abstained` true, the scores still there. 0 never abstains.",
    )


class PredictCreate(BaseModel):
    """One text (`text`) or several (`texts`), not both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"text": "Invoice 2024-117: amount due 1,200 EUR"}, {"texts": ["a", "b"]}]
        },
    )

    text: PredictionText | None = None
    texts: list[PredictionText] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TEXTS,
        description=f"At most {limits.MAX_BATCH_CHARS} characters in all.",
    )
    thresholds: dict[str, Annotated[float, Field(ge=0, le=1)]] | None = Field(
        default=None,
        max_length=limits.MAX_LABELS,
        description="Multi-label classifiers only: a label's decision threshold for this "
        "request (label -> 0 to 1), instead of the one tuned at training.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> PredictCreate:
        if (self.text is None) == (self.texts is None):
            raise ValueError("send either `text` (one string) or `texts` (a list of strings)")
        total = sum(len(text) for text in self.texts or [])
        if total > limits.MAX_BATCH_CHARS:
            raise ValueError(
                f"the texts hold {total} characters in all; at most {limits.MAX_BATCH_CHARS} "
                "are allowed in one request: send them in several requests"
            )
        return self


class PathStepPublic(BaseModel):
    label: str = Field(description="The node at this level: `sport`, then `sport/football`.")
    score: float = Field(description="Its calibrated probability: the sum of its labels'.")


class PredictionPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PREDICTION]})

    label: str | None = Field(
        description="The most likely label; null when its score is below the classifier's "
        "`min_score` (then `abstained` is true)."
    )
    score: float = Field(description="The calibrated probability of the most likely label.")
    abstained: bool = False
    scores: dict[str, float]
    labels: list[str] | None = Field(
        default=None,
        description="Multi-label classifiers only: every label whose score reaches its "
        "threshold, best first (possibly empty: then `abstained` is true).",
    )
    path: list[PathStepPublic] | None = Field(
        default=None,
        description="Hierarchical classifiers only (absent otherwise): from the top level down, "
        "the most likely node and then its most likely child, each with its score (a parent's "
        "is the sum of its children's); `label` is the last node.",
        examples=[examples.HIERARCHICAL_PREDICTION["path"]],
    )


class DatasetPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.DATASET]})

    name: str
    location: str = Field(description="Give this as `location` when creating a classifier.")
    labels: dict[str, int] = Field(description="Documents per label folder.")
    files: int

    @classmethod
    def from_info(cls, info: DatasetInfo) -> DatasetPublic:
        return cls(**dataclasses.asdict(info))


class LabelReportPublic(BaseModel):
    label: str = Field(description="A label trained: a folder, or a path `sport/football`.")
    found: int = Field(description="Files found below its folder.")
    used: int = Field(description="Usable documents.")
    skipped: dict[str, int] = Field(description="Files left out, per reason.")


class ProblemPublic(BaseModel):
    code: str = Field(description="Stable, e.g. `too_few_documents`.")
    message: str = Field(description="What was expected, what was found, and how to fix it.")
    label: str | None = Field(default=None, description="The label (node) it is about.")


class LabelNodePublic(BaseModel):
    label: str = Field(description="The folder's path from the data set's root.")
    name: str
    documents: int = Field(description="Files found below it.")
    used: int = Field(description="Usable documents below it.")
    left_out: int = Field(description="Files directly in it, above the level trained: unused.")
    trained: bool = Field(description="It is one of the labels trained.")
    children: list[LabelNodePublic] = Field(default_factory=list)


class DataReportCreate(BaseModel):
    """Which folder, labels and level of the label tree to report on."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"location": "users/alice/news", "depth": 2}]},
    )

    location: Location = Field(description="The folder to train on; relative to the first root.")
    labels: list[Label] | None = Field(
        default=None,
        max_length=limits.MAX_LABELS,
        description="Label folders or paths (`sport/football`); default: every top-level folder.",
    )
    depth: Annotated[StrictInt, Field(ge=1, le=limits.MAX_LABEL_DEPTH)] | None = Field(
        default=None, description="The level trained (as `training.depth`); null: flat."
    )
    hierarchical: StrictBool = Field(
        default=False, description="Train the deepest folders (as `training.hierarchical`)."
    )


class DataReportPublic(BaseModel):
    """What a folder would give for training: the labels at the level asked, their counts and
    skips, the folder tree with counts per node, and every problem (an empty list: it trains)."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.DATA_REPORT]})

    root: str
    labels: list[LabelReportPublic]
    available_labels: list[str] = Field(description="The top-level folders.")
    problems: list[ProblemPublic]
    min_docs_per_label: int
    depth: int | None = Field(default=None, description="The level trained; null: flat.")
    hierarchical: bool = False
    tree: list[LabelNodePublic] = Field(description="The folders read, with counts per node.")
    mode: str = Field(default="single", description="`single` or `multi` (`auto` resolved).")
    mode_note: str | None = None

    @classmethod
    def from_report(cls, report: DataReport) -> DataReportPublic:
        return cls.model_validate(report.to_dict())


class FolderPublic(BaseModel):
    name: str
    path: str
    documents: int


class FolderListingPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.FOLDER_LISTING]})

    path: str | None
    parent: str | None
    documents: int
    folders: list[FolderPublic]

    @classmethod
    def from_listing(cls, listing: FolderListing) -> FolderListingPublic:
        return cls(**dataclasses.asdict(listing))


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"username": "alice", "is_admin": False}]}
    )

    username: Annotated[str, StringConstraints(min_length=1, max_length=63), ValidUnicode]
    is_admin: StrictBool = False


class UserUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"is_active": False}]}
    )

    is_active: StrictBool


class UserPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.USER]})

    username: str
    is_admin: bool
    is_active: bool
    created_at: UtcDatetime

    @classmethod
    def from_record(cls, user: UserRecord) -> UserPublic:
        return cls(
            username=user.username,
            is_admin=user.is_admin,
            is_active=user.is_active,
            created_at=user.created_at,
        )


class UsersPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.listing(examples.USER)]})

    data: list[UserPublic]
    count: int


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "laptop"}]})

    name: Annotated[str, StringConstraints(min_length=1, max_length=100), ValidUnicode] = "default"


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.API_KEY]})

    id: int
    name: str
    prefix: str
    created_at: UtcDatetime
    last_used_at: UtcDatetime | None
    revoked_at: UtcDatetime | None

    @classmethod
    def from_record(cls, key: ApiKeyRecord) -> ApiKeyPublic:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyPublic):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.NEW_API_KEY]})

    key: str = Field(description="The key itself; shown only in this answer.")


class ApiKeysPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.listing(examples.API_KEY)]})

    data: list[ApiKeyPublic]
    count: int


class UserCreated(UserPublic):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**examples.USER, "api_key": examples.NEW_API_KEY}]}
    )

    api_key: ApiKeyCreated


class ErrorBody(BaseModel):
    code: str = Field(description="Stable and machine-readable, e.g. `classifier_not_found`.")
    message: str = Field(description="What was expected, what was found, and how to fix it.")
    details: dict[str, Any] = Field(description="Structured context: fields, limits, report.")


class ErrorEnvelope(BaseModel):
    """Every error answer."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.NOT_FOUND]})

    error: ErrorBody


class BaseModelPublic(BaseModel):
    """A named base model and whether this install can train it."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.BASE_MODEL]})

    name: str
    source: str = Field(description="Hugging Face id, local folder or .gguf file it loads.")
    kind: str = Field(description="`encoder` or `decoder` (a decoder LLM).")
    parameters: int
    context_window: int = Field(description="Tokens the model reads at most.")
    fine_tuning: str = Field(description="`full` or `lora` by default.")
    description: str
    available: bool = Field(description="It can be trained now.")
    offline: bool = Field(description="It needs no network on this install.")
    reason: str | None = Field(default=None, description="Why it is unavailable, or a caveat.")
    builtin: bool


class BaseModelsPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [examples.listing(examples.BASE_MODEL)]}
    )

    data: list[BaseModelPublic]
    count: int
