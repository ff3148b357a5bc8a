"""Training arguments check their declared bounds once, when built (the API schema shows them)."""

from __future__ import annotations

import pytest

from custom_classifier.errors import InvalidRequestError
from custom_classifier.training.arguments import AcceptanceCriteria, TrainingArguments


def test_the_defaults_are_inside_their_bounds() -> None:
    assert TrainingArguments().epochs == 8
    assert AcceptanceCriteria().min_macro_f1 == 0.8


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"epochs": 0}, "epochs must be a whole number at least 1 and at most 1000; got 0"),
        ({"epochs": True}, "got True"),
        ({"epochs": 2.5}, "epochs must be a whole number"),
        ({"epochs": 10**5000}, "got a number with more than 19 digits"),
        ({"learning_rate": float("nan")}, "learning_rate must be a number more than 0"),
        ({"test_fraction": 1.0}, "test_fraction must be a number at least 0 and less than 1"),
        ({"gpu_batch_size": 0}, "gpu_batch_size must be a whole number at least 1"),
    ],
)
def test_a_value_outside_its_bounds_says_expected_found_and_fix(
    options: dict[str, object], said: str
) -> None:
    with pytest.raises(InvalidRequestError, match="Pick a value in that range") as caught:
        TrainingArguments(**options)  # type: ignore[arg-type]

    assert said in caught.value.message
    assert caught.value.details == {"field": next(iter(options))}


def test_optional_numbers_may_be_left_empty_and_criteria_are_checked_too() -> None:
    assert TrainingArguments(gpu_batch_size=None, attention_dropout=None).gpu_batch_size is None
    with pytest.raises(InvalidRequestError, match="min_macro_f1 must be a number at least 0"):
        AcceptanceCriteria(min_macro_f1=1.5)


def test_a_hierarchical_training_reads_one_label_path_per_document() -> None:
    assert TrainingArguments(hierarchical=True).mode == "single"
    assert TrainingArguments(depth=2).mode == TrainingArguments().mode
    with pytest.raises(InvalidRequestError, match="hierarchical and mode 'multi' cannot"):
        TrainingArguments(hierarchical=True, mode="multi")
