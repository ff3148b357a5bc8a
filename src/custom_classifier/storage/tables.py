"""Tables of the two databases: metadata (jobs, classifiers) and admin (users, API keys)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from custom_classifier.storage.clock import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class MetadataBase(DeclarativeBase):
    """Tables of the metadata database (`CC_DATABASE_URL`)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AdminBase(DeclarativeBase):
    """Tables of the admin database (`CC_ADMIN_DATABASE_URL`)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class JobRecord(MetadataBase):
    """One job (a training or a batch prediction): the request, where it stands, and what it
    produced."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(
        String(32), default="training", server_default="training", index=True
    )
    """`storage.job_status.JobKind`: which worker code runs the job and which routes show it."""
    owner: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(Text)
    labels: Mapped[list[str]] = mapped_column(JSON)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """The latest progress report."""
    curves: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """Every loss and validation point so far (`training.curves.TrainingCurves.to_row`)."""
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """Acceptance reasons, baseline, data report and timings of a finished training."""
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Every state transition: `{"status", "at", "message"}`."""
    run_id: Mapped[str | None] = mapped_column(String(64), default=None)
    registered_name: Mapped[str | None] = mapped_column(String(200), default=None)
    registered_version: Mapped[int | None] = mapped_column(Integer, default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker_host: Mapped[str | None] = mapped_column(String(255), default=None)
    worker_pid: Mapped[int | None] = mapped_column(Integer, default=None)


class ClassifierRecord(MetadataBase):
    """A classifier name a user has trained under; its versions live in the MLflow registry."""

    __tablename__ = "classifiers"
    __table_args__ = (UniqueConstraint("owner", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    latest_job_id: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class UserRecord(AdminBase):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    api_keys: Mapped[list[ApiKeyRecord]] = relationship(back_populates="user")


class ApiKeyRecord(AdminBase):
    """An API key, stored as its sha256; `prefix` (shown to users) finds the row."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="default")
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    user: Mapped[UserRecord] = relationship(back_populates="api_keys")
