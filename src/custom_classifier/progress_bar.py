"""Terminal progress displays: a training's phases, and a folder being classified.

Each training phase (reading, training, evaluating, logging) gets its own line and its own
clock, so a phase without steps still shows that it is running and for how long; a finished
phase keeps its duration.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text

from custom_classifier.training.arguments import Phase, Progress

if TYPE_CHECKING:
    from custom_classifier.inference.folder_predictions import BatchProgress

STARTING = "Starting"
"""The first line, before the training reports a phase."""
PHASE_DESCRIPTIONS = {
    Phase.READING: "Reading documents",
    Phase.PREPARING: "Preparing the model",
    Phase.TRAINING: "Training",
    Phase.EVALUATING: "Evaluating on the test split",
    Phase.LOGGING: "Logging to MLflow",
    Phase.INT8: "Registered; optimizing for CPU",
}
"""Shorter than the job page's words (`ui.views.PHASE_WORDS`): a terminal line is narrow."""


class _CountColumn(ProgressColumn):
    """`12/80` for a phase that counts (files, steps); nothing for one that does not."""

    def render(self, task: Task) -> Text:
        if not task.fields.get("counts"):
            return Text("")
        return Text(f"{int(task.completed)}/{int(task.total or 0)}", style="progress.download")


class _RemainingColumn(ProgressColumn):
    """The training's own estimate of the time left, while it trains."""

    def render(self, task: Task) -> Text:
        eta = task.fields.get("eta")
        if eta is None or task.finished or task.stop_time is not None:
            return Text("")
        minutes, seconds = divmod(int(eta), 60)
        return Text(f"~{minutes}:{seconds:02d} left", style="progress.remaining")


class TrainingProgressBar:
    """Shows each phase with its clock; training adds steps, epoch, loss and validation F1."""

    def __init__(self, console: Console, *, get_time: Callable[[], float] | None = None) -> None:
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            _CountColumn(),
            TextColumn("{task.fields[details]}"),
            TimeElapsedColumn(),
            _RemainingColumn(),
            console=console,
            transient=False,
            get_time=get_time,
        )
        self._description = ""
        self._task: TaskID | None = None
        self._validation = ""
        self._begin(STARTING)

    def __enter__(self) -> TrainingProgressBar:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._end_phase()
        self._bar.stop()

    def __rich__(self) -> RenderableType:
        return self._bar.get_renderable()

    def update(self, progress: Progress) -> None:
        description = PHASE_DESCRIPTIONS.get(progress.phase, progress.phase)
        if (
            "candidate" in progress.extra
        ):  # a bake-off: each base model's phases on lines of their own
            extra = progress.extra
            number, count = extra["candidate_number"], extra["candidates"]
            description = f"{description} {extra['candidate']} ({number}/{count})"
        if description != self._description:
            self._end_phase()
            if progress.phase == Phase.DONE:
                return
            self._begin(description)
        assert self._task is not None
        if progress.validation and "macro_f1" in progress.validation:
            self._validation = f" val macro-F1 {progress.validation['macro_f1']:.3f}"
        details = (
            f"k-fold: training fold {progress.extra['fold']}" if "fold" in progress.extra else ""
        )
        if progress.phase == Phase.TRAINING:
            loss = f" loss {progress.loss:.4f}" if progress.loss is not None else ""
            details = f"epoch {progress.epoch:.2f}{loss}{self._validation}"
        counts = bool(progress.total_steps)
        self._bar.update(
            self._task,
            total=progress.total_steps if counts else None,
            completed=progress.step if counts else 0,
            details=details,
            counts=counts,
            eta=progress.eta_seconds if progress.phase == Phase.TRAINING else None,
        )

    def _begin(self, description: str) -> None:
        self._task = self._bar.add_task(description, total=None, details="", counts=False)
        self._description = description

    def _end_phase(self) -> None:
        """The phase's clock stops; a phase that did not count shows a full bar."""
        if self._task is None:
            return
        [task] = [task for task in self._bar.tasks if task.id == self._task]
        if not task.fields.get("counts"):
            self._bar.update(self._task, total=1, completed=1)
        self._bar.stop_task(self._task)
        self._task = None


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
