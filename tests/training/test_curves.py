"""The curves a training records from its progress reports."""

from __future__ import annotations

from custom_classifier.training.arguments import Progress
from custom_classifier.training.curves import MAX_LOSS_POINTS, TrainingCurves


def report(step: int, epoch: float, loss: float | None, **validation: float) -> Progress:
    return Progress(
        step=step, total_steps=100, epoch=epoch, loss=loss, validation=validation or None
    )


def test_every_loss_point_and_one_validation_point_per_epoch() -> None:
    curves = TrainingCurves()
    curves.add(report(1, 0.5, 1.2))
    curves.add(report(1, 0.5, 1.2))  # the same report twice
    curves.add(report(2, 1.0, None, macro_f1=0.7, accuracy=0.75))
    curves.add(report(3, 1.5, 0.6))
    curves.add(Progress(step=0, total_steps=0, epoch=0.0, phase="evaluating"))

    row = TrainingCurves.from_row(curves.to_row()).to_row()

    assert row["loss"] == [{"x": 0.5, "y": 1.2, "step": 1}, {"x": 1.5, "y": 0.6, "step": 3}]
    assert row["validation"] == [{"x": 1.0, "macro_f1": 0.7, "accuracy": 0.75}]
    assert TrainingCurves.from_row(None).to_row() == {"loss": [], "validation": [], "merge": 1}


def test_a_long_training_keeps_its_whole_curve_at_a_coarser_grain() -> None:
    curves = TrainingCurves()
    steps = 5 * MAX_LOSS_POINTS
    for step in range(1, steps + 1):
        curves.add(report(step, step / 100, float(step)))

    loss = curves.to_row()["loss"]

    assert MAX_LOSS_POINTS // 2 <= len(loss) <= MAX_LOSS_POINTS
    assert loss[-1]["step"] == steps and loss[-1]["x"] == steps / 100
    assert [p["step"] for p in loss] == sorted(p["step"] for p in loss)
    # Each point is the mean of the reports it stands for: the mean of the whole is kept.
    weights = [curves.merge] * len(loss)
    weights[-1] = steps - curves.merge * (len(loss) - 1)
    mean = sum(w * p["y"] for w, p in zip(weights, loss, strict=True)) / steps
    assert abs(mean - (steps + 1) / 2) < 1e-6
