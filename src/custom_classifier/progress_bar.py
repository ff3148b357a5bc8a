"""A terminal progress bar fed by training `Progress` reports."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import (
    Progress as RichProgress,
)

from custom_classifier.training.arguments import Progress

if TYPE_CHECKING:
    from custom_classifier.services.batch_predictions import BatchProgress

PHASE_DESCRIPTIONS = {
    "reading": "Reading documents",
    "training": "Training",
    "evaluating": "Evaluating on the test split",
    "logging": "Logging to MLflow",
    "done": "Done",
}


class TrainingProgressBar:
    """Shows the phase, steps, epoch, loss and validation macro-F1 as training goes."""

    def __init__(self, console: Console) -> None:
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[details]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._bar.add_task("Starting", total=None, details="")
        self._validation = ""

    def __enter__(self) -> TrainingProgressBar:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def update(self, progress: Progress) -> None:
        description = PHASE_DESCRIPTIONS.get(progress.phase, progress.phase)
        if "candidate" in progress.extra:
            extra = progress.extra
            number, count = extra["candidate_number"], extra["candidates"]
            description = f"{description} {extra['candidate']} ({number}/{count})"
        if progress.validation and "macro_f1" in progress.validation:
            self._validation = f" val macro-F1 {progress.validation['macro_f1']:.3f}"
        details = ""
        if progress.phase == "training":
            loss = f" loss {progress.loss:.4f}" if progress.loss is not None else ""
            details = f"epoch {progress.epoch:.2f}{loss}{self._validation}"
        total = progress.total_steps or None
        completed = progress.step if total else 0
        if progress.phase == "done" and not total:
            total, completed = 1, 1
        self._bar.update(
            self._task, description=description, total=total, completed=completed, details=details
        )


class FolderProgressBar:
    """Documents done of the folder's total, documents per second and the time left."""

    def __init__(self, console: Console) -> None:
        self._bar = RichProgress(
            TextColumn("[bold]Classifying documents"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self._task = self._bar.add_task("classify", total=None, rate="")

    def __enter__(self) -> FolderProgressBar:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def update(self, progress: BatchProgress) -> None:
        rate = f"{progress.per_second:.1f} docs/s"
        self._bar.update(self._task, total=progress.total, completed=progress.done, rate=rate)
