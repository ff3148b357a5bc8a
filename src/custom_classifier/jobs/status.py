"""The job states, as the jobs package names them; defined with the jobs table in storage."""

from custom_classifier.storage.job_status import TERMINAL_STATUSES, JobKind, JobStatus

__all__ = ["TERMINAL_STATUSES", "JobKind", "JobStatus"]
