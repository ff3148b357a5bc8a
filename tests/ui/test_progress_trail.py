"""The curve points a process keeps from the progress samples it saw."""

from __future__ import annotations

from custom_classifier.ui.progress_trail import ProgressTrail


def sample(epoch: float, loss: float, validation: dict[str, float] | None = None) -> dict:
    return {
        "phase": "training",
        "epoch": epoch,
        "step": int(epoch * 10),
        "loss": loss,
        "validation": validation,
    }


def test_loss_points_follow_the_fractional_epoch_and_validation_one_per_epoch() -> None:
    trail = ProgressTrail()
    trail.record("job", sample(0.5, 1.2))
    trail.record("job", sample(0.5, 1.1))  # the same sample read twice
    trail.record("job", sample(1.0, 0.8, {"macro_f1": 0.7, "accuracy": 0.75}))
    trail.record("job", {"phase": "evaluating"})

    points = trail.points("job")

    assert points["loss"] == [{"x": 0.5, "y": 1.2}, {"x": 1.0, "y": 0.8}]
    assert points["validation"] == [{"x": 1.0, "macro_f1": 0.7, "accuracy": 0.75}]
    assert trail.points("another job") == {"loss": [], "validation": []}
