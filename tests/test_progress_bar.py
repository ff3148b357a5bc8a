"""The CLI's progress display: one line per phase, each with its own clock (a fake clock here)."""

from __future__ import annotations

import io

from rich.console import Console

from custom_classifier.progress_bar import TrainingProgressBar
from custom_classifier.training.arguments import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def render(bar: TrainingProgressBar) -> list[str]:
    output = io.StringIO()
    Console(file=output, width=150, color_system=None).print(bar)
    return [line.rstrip() for line in output.getvalue().splitlines()]


def line(lines: list[str], phase: str) -> str:
    [found] = [text for text in lines if text.startswith(phase)]
    return found


def phase(name: str, step: int = 0, total: int = 0) -> Progress:
    return Progress(step=step, total_steps=total, epoch=0.0, phase=name)


def test_a_phase_without_steps_shows_a_running_clock_not_the_last_count() -> None:
    clock = Clock()
    bar = TrainingProgressBar(Console(file=io.StringIO()), get_time=clock)
    bar.update(phase("reading", 0, 160))
    clock.now = 2
    bar.update(phase("reading", 160, 160))
    bar.update(Progress(step=80, total_steps=80, epoch=3.0, loss=0.25, phase="training"))
    clock.now = 62
    bar.update(phase("evaluating"))
    clock.now = 65
    first = line(render(bar), "Evaluating")
    clock.now = 71
    later = line(render(bar), "Evaluating")

    assert first.endswith("0:00:03") and later.endswith("0:00:09")  # it runs
    assert "/" not in first  # no "0/80" left over from training
    lines = render(bar)
    assert "160/160" in line(lines, "Reading documents")
    assert line(lines, "Reading documents").endswith("0:00:02")  # a finished phase keeps its time
    assert "80/80" in line(lines, "Training") and "epoch 3.00 loss 0.2500" in line(
        lines, "Training"
    )


def test_reading_shows_its_total_from_the_start() -> None:
    bar = TrainingProgressBar(Console(file=io.StringIO()), get_time=Clock())
    bar.update(phase("reading", 0, 2400))
    assert "0/2400" in line(render(bar), "Reading documents")


def test_done_ends_the_last_phase_and_adds_no_line() -> None:
    clock = Clock()
    bar = TrainingProgressBar(Console(file=io.StringIO()), get_time=clock)
    bar.update(phase("logging"))
    clock.now = 4
    bar.update(phase("done"))
    clock.now = 30
    lines = render(bar)
    assert line(lines, "Logging to MLflow").endswith("0:00:04")
    assert [text.split()[0] for text in lines] == ["Starting", "Logging"]
