"""Early stopping follows the validation macro-F1; the loss only breaks ties."""

from __future__ import annotations

from custom_classifier.training.early_stopping import EarlyStopping


def run(patience: int, epochs: list[tuple[float, float]]) -> tuple[int, int]:
    """(epochs run, best epoch) for per-epoch (validation macro-F1, validation loss)."""
    stopping = EarlyStopping(patience)
    for epoch, (f1, loss) in enumerate(epochs, start=1):
        stopping.update(epoch, {"val_macro_f1": f1, "val_loss": loss, "train_loss": 1.0})
        if stopping.should_stop:
            return epoch, stopping.best_epoch
    return len(epochs), stopping.best_epoch


def test_stops_after_patience_epochs_without_a_higher_macro_f1() -> None:
    epochs = [(0.70, 0.9), (0.80, 0.7), (0.79, 0.6), (0.78, 0.5), (0.75, 0.4), (0.95, 0.3)]

    assert run(3, epochs) == (5, 2)


def test_a_falling_loss_does_not_keep_training_going_but_breaks_ties() -> None:
    # The case of the issue: a plateau of macro-F1 while the loss keeps improving.
    epochs = [(0.90, 0.9), (0.95, 0.8), (0.95, 0.5), (0.95, 0.3), (0.95, 0.2), (0.95, 0.1)]

    ran, best = run(3, epochs)

    assert ran == 5
    assert best == 5  # same macro-F1 as epoch 2, lower loss


def test_an_equal_macro_f1_with_a_higher_loss_is_not_kept() -> None:
    assert run(2, [(0.9, 0.3), (0.9, 0.4), (0.9, 0.5)]) == (3, 1)


def test_a_perfect_macro_f1_stops_at_once() -> None:
    assert run(3, [(0.8, 0.9), (1.0, 0.5), (1.0, 0.1), (1.0, 0.05)]) == (2, 2)


def test_a_rising_macro_f1_runs_every_epoch() -> None:
    assert run(1, [(0.5, 1.0), (0.6, 1.1), (0.7, 1.2)]) == (3, 3)


def test_without_validation_every_epoch_runs_and_the_last_is_kept() -> None:
    stopping = EarlyStopping(1)
    for epoch in (1, 2, 3):
        assert stopping.update(epoch, {"train_loss": 0.5}) is True
        assert not stopping.should_stop
    assert stopping.best_epoch == 3
