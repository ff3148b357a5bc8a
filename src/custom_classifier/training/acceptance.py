"""Decide whether an evaluated model may be registered, and whether it becomes `champion`."""

from __future__ import annotations

from dataclasses import dataclass, field

from custom_classifier.training.arguments import AcceptanceCriteria
from custom_classifier.training.evaluation import Evaluation
from custom_classifier.training.statistics import Comparison

CHAMPION_ALIAS = "champion"
CHALLENGER_ALIAS = "challenger"


@dataclass(frozen=True)
class AcceptanceDecision:
    accepted: bool
    """Registered: it meets the thresholds and is not significantly worse than the baseline."""
    reasons: list[str] = field(default_factory=list)
    """Why it was rejected, in words."""
    promoted: bool = True
    """It takes the alias `champion`; False: registered as `challenger`, `champion` stays."""
    notes: list[str] = field(default_factory=list)
    """Why an accepted model was not promoted, in words."""

    @property
    def alias(self) -> str | None:
        """The alias the registered version takes, None when nothing is registered."""
        if not self.accepted:
            return None
        return CHAMPION_ALIAS if self.promoted else CHALLENGER_ALIAS


def decide(
    evaluation: Evaluation,
    criteria: AcceptanceCriteria,
    *,
    baseline: Comparison | None = None,
    champion: Comparison | None = None,
    champion_version: int | None = None,
    measured_on: str = "the test split",
) -> AcceptanceDecision:
    """Accepted when macro-F1 and every label's F1 reach their thresholds and (with
    `criteria.beat_baseline`) the paired comparison with the baseline is no significant
    regression; promoted when the comparison with the champion passes `criteria.promote`.
    `measured_on` names where the scores come from in the reasons (k-fold: out-of-fold)."""
    reasons = []
    if evaluation.macro_f1 < criteria.min_macro_f1:
        reasons.append(
            f"macro-F1 on {measured_on} is {evaluation.macro_f1:.3f}; "
            f"at least {criteria.min_macro_f1:.3f} is required"
        )
    for label, scores in evaluation.per_label.items():
        if scores.f1 < criteria.min_label_f1:
            reasons.append(
                f"label '{label}' has F1 {scores.f1:.3f} on {measured_on}; "
                f"at least {criteria.min_label_f1:.3f} is required"
            )
    regression = baseline is not None and baseline.verdict == "significant regression"
    if criteria.beat_baseline and baseline is not None and regression:
        reasons.append(
            f"macro-F1 {baseline.challenger_macro_f1:.3f} is significantly worse than the "
            f"TF-IDF baseline's {baseline.reference_macro_f1:.3f} on the same documents "
            f"({measured_on}): "
            f"{baseline.shown()}"
        )
    accepted = not reasons
    notes = []
    if accepted and champion is not None and not passes_policy(champion, criteria):
        notes.append(
            f"registered as '{CHALLENGER_ALIAS}', not '{CHAMPION_ALIAS}': against champion "
            f"version {champion_version} on the same test documents, macro-F1 "
            f"{champion.challenger_macro_f1:.3f} vs {champion.reference_macro_f1:.3f} is "
            f"'{champion.verdict}' ({champion.shown()}); the policy '{criteria.promote}' "
            f"{_policy_words(criteria)}"
        )
    return AcceptanceDecision(accepted=accepted, reasons=reasons, promoted=not notes, notes=notes)


def passes_policy(champion: Comparison, criteria: AcceptanceCriteria) -> bool:
    """`not_worse`: anything but a significant regression; `better`: a significant improvement."""
    if criteria.promote == "better":
        return champion.verdict == "improvement"
    return champion.verdict != "significant regression"


def _policy_words(criteria: AcceptanceCriteria) -> str:
    if criteria.promote == "better":
        return "promotes only a significant improvement"
    return "promotes anything but a significant regression"
