"""The path of a hierarchical prediction: a parent's score is the sum of its children's."""

from __future__ import annotations

import pytest

from custom_classifier.inference.label_paths import label_path, max_levels, node_scores

SCORES = {"sport/football": 0.30, "sport/tennis": 0.25, "business": 0.45}


def test_a_parent_scores_the_sum_of_its_children() -> None:
    assert node_scores(SCORES, 1) == pytest.approx({"sport": 0.55, "business": 0.45})
    assert node_scores(SCORES, 2, "sport") == pytest.approx(
        {"sport/football": 0.30, "sport/tennis": 0.25}
    )


def test_the_path_follows_the_most_likely_node_at_each_level() -> None:
    # business is the single most likely label, but sport is the more likely top level.
    path = label_path(SCORES)

    assert [step["label"] for step in path] == ["sport", "sport/football"]
    assert [step["score"] for step in path] == pytest.approx([0.55, 0.30])


def test_a_label_without_sub_levels_ends_the_path_at_the_top() -> None:
    path = label_path({"sport/football": 0.1, "sport/tennis": 0.1, "business": 0.8})

    assert path == [{"label": "business", "score": pytest.approx(0.8)}]


def test_three_levels_sum_at_every_level() -> None:
    scores = {"a/b/c": 0.2, "a/b/d": 0.3, "a/e": 0.1, "f": 0.4}
    path = label_path(scores)

    assert [(s["label"], round(s["score"], 6)) for s in path] == [
        ("a", 0.6),
        ("a/b", 0.5),
        ("a/b/d", 0.3),
    ]
    assert max_levels(list(scores)) == 3


def test_a_flat_label_set_gives_a_one_step_path() -> None:
    assert label_path({"ham": 0.4, "spam": 0.6}) == [{"label": "spam", "score": 0.6}]
