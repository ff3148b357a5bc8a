"""Decide whether an evaluated model may be registered."""

from __future__ import annotations

from dataclasses import dataclass, field

from custom_classifier.training.arguments import AcceptanceCriteria
from custom_classifier.training.evaluation import Evaluation


@dataclass(frozen=True)
class AcceptanceDecision:
    accepted: bool
    reasons: list[str] = field(default_factory=list)


def decide(evaluation: Evaluation, criteria: AcceptanceCriteria) -> AcceptanceDecision:
    """Accepted when macro-F1 and every label's F1 reach their thresholds; else say which did not."""
    reasons = []
    if evaluation.macro_f1 < criteria.min_macro_f1:
        reasons.append(
            f"macro-F1 on the test split is {evaluation.macro_f1:.3f}; "
            f"at least {criteria.min_macro_f1:.3f} is required"
        )
    for label, scores in evaluation.per_label.items():
        if scores.f1 < criteria.min_label_f1:
            reasons.append(
                f"label '{label}' has F1 {scores.f1:.3f} on the test split; "
                f"at least {criteria.min_label_f1:.3f} is required"
            )
    return AcceptanceDecision(accepted=not reasons, reasons=reasons)
