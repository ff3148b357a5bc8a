"""Nested label folders read as a tree: flat as before, at a depth, or to the leaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_classifier.corpus.label_tree import Levels
from custom_classifier.corpus.models import LabelNode
from custom_classifier.corpus.reader import inspect_corpus
from custom_classifier.errors import InvalidRequestError
from factories import distinct_texts, make_labeled_folder


def news_tree(tmp_path: Path) -> Path:
    """sport/{football 4, tennis 3}, business 5 (no sub-folders), and 2 files loose in sport."""
    root = make_labeled_folder(
        tmp_path,
        {
            "sport/football": distinct_texts("football", 4),
            "sport/tennis": distinct_texts("tennis", 3),
            "business": distinct_texts("business", 5),
        },
    )
    for index, text in enumerate(distinct_texts("sport in general", 2)):
        (root / "sport" / f"loose_{index}.txt").write_text(text)
    return root


def used(corpus_report_labels: list) -> dict[str, int]:
    return {report.label: report.used for report in corpus_report_labels}


def node(tree: list[LabelNode], path: str) -> LabelNode:
    for candidate in tree:
        if candidate.label == path:
            return candidate
        if path.startswith(candidate.label + "/"):
            return node(candidate.children, path)
    raise AssertionError(f"no node {path} in {tree}")


def test_flat_reading_counts_every_sub_folder_for_its_top_folder(tmp_path: Path) -> None:
    corpus = inspect_corpus(news_tree(tmp_path), ["sport", "business"], min_docs_per_label=3)

    assert corpus.report.ok
    assert corpus.labels == ["sport", "business"]
    assert used(corpus.report.labels) == {"sport": 9, "business": 5}
    assert {doc.label for doc in corpus.documents if "football" in doc.id} == {"sport"}


def test_depth_1_trains_the_top_level_with_the_documents_below(tmp_path: Path) -> None:
    levels = Levels(depth=1)
    corpus = inspect_corpus(
        news_tree(tmp_path), ["sport", "business"], min_docs_per_label=3, levels=levels
    )

    assert corpus.labels == ["sport", "business"]
    assert used(corpus.report.labels) == {"sport": 9, "business": 5}
    assert corpus.report.depth == 1


def test_depth_2_trains_the_sub_folders_and_keeps_a_shallow_leaf(tmp_path: Path) -> None:
    corpus = inspect_corpus(
        news_tree(tmp_path), ["sport", "business"], min_docs_per_label=3, levels=Levels(depth=2)
    )

    assert corpus.report.ok, corpus.report.problems
    assert corpus.labels == ["sport/football", "sport/tennis", "business"]
    assert used(corpus.report.labels) == {"sport/football": 4, "sport/tennis": 3, "business": 5}
    football = {doc.label for doc in corpus.documents if doc.id.startswith("sport/football/")}
    assert football == {"sport/football"}
    assert not [doc for doc in corpus.documents if "loose" in doc.id]


def test_the_tree_counts_found_and_used_documents_per_node(tmp_path: Path) -> None:
    tree = inspect_corpus(
        news_tree(tmp_path), ["sport", "business"], min_docs_per_label=3, levels=Levels(depth=2)
    ).report.tree

    assert [n.label for n in tree] == ["business", "sport"]
    sport = node(tree, "sport")
    assert (sport.documents, sport.used, sport.left_out, sport.trained) == (9, 7, 2, False)
    assert [child.name for child in sport.children] == ["football", "tennis"]
    tennis = node(tree, "sport/tennis")
    assert (tennis.documents, tennis.used, tennis.trained) == (3, 3, True)
    assert node(tree, "business").trained


def test_a_flat_report_shows_the_sub_folders_too(tmp_path: Path) -> None:
    tree = inspect_corpus(news_tree(tmp_path), ["sport", "business"], min_docs_per_label=3)

    sport = node(tree.report.tree, "sport")
    assert sport.trained and (sport.documents, sport.used, sport.left_out) == (9, 9, 0)
    assert node(tree.report.tree, "sport/football").used == 4


def test_hierarchical_trains_the_leaves_of_a_deeper_tree(tmp_path: Path) -> None:
    root = news_tree(tmp_path)
    make_labeled_folder(root.parent, {"sport/football/women": distinct_texts("wfc", 3)})
    corpus = inspect_corpus(
        root, ["sport", "business"], min_docs_per_label=3, levels=Levels(hierarchical=True)
    )

    assert corpus.labels == [
        "sport/football/women",
        "sport/tennis",
        "business",
    ]
    assert corpus.report.hierarchical
    assert node(corpus.report.tree, "sport/football").left_out == 4


def test_a_label_may_name_a_path(tmp_path: Path) -> None:
    corpus = inspect_corpus(
        news_tree(tmp_path), ["sport/football", "sport/tennis"], min_docs_per_label=3
    )

    assert corpus.report.ok
    assert used(corpus.report.labels) == {"sport/football": 4, "sport/tennis": 3}


def test_the_minimum_applies_to_the_level_trained_and_names_the_short_node(
    tmp_path: Path,
) -> None:
    root = news_tree(tmp_path)
    at_top = inspect_corpus(root, ["sport", "business"], min_docs_per_label=4)
    below = inspect_corpus(root, ["sport", "business"], min_docs_per_label=4, levels=Levels(2))

    assert at_top.report.ok
    (problem,) = below.report.problems
    assert (problem.code, problem.label) == ("too_few_documents", "sport/tennis")
    assert "label folder 'sport/tennis' has 3 usable documents" in problem.message


@pytest.mark.parametrize(
    ("labels", "levels", "code"),
    [
        (["sport/football", "business"], Levels(depth=1), "label_below_depth"),
        (["sport", "sport/tennis"], Levels(), "overlapping_labels"),
        (["sport/../business", "business"], Levels(), "label_not_found"),
        (["sport/.hidden", "business"], Levels(), "label_not_found"),
        (["sport/golf", "business"], Levels(depth=2), "label_not_found"),
        (["business"], Levels(depth=2), "too_few_labels"),
    ],
)
def test_requests_that_cannot_be_trained_are_problems(
    tmp_path: Path, labels: list[str], levels: Levels, code: str
) -> None:
    root = news_tree(tmp_path)
    (root / "sport" / ".hidden").mkdir()
    report = inspect_corpus(root, labels, min_docs_per_label=1, levels=levels).report

    assert code in [problem.code for problem in report.problems]


def test_one_top_level_folder_at_depth_2_gives_two_labels(tmp_path: Path) -> None:
    corpus = inspect_corpus(news_tree(tmp_path), ["sport"], min_docs_per_label=3, levels=Levels(2))

    assert corpus.report.ok and corpus.labels == ["sport/football", "sport/tennis"]


def test_a_link_leading_outside_is_not_a_label(tmp_path: Path) -> None:
    root = news_tree(tmp_path)
    outside = make_labeled_folder(tmp_path, {"secret": distinct_texts("secret", 3)}, name="other")
    (root / "sport" / "outside").symlink_to(outside / "secret")
    corpus = inspect_corpus(root, ["sport"], min_docs_per_label=3, levels=Levels(2))

    assert corpus.labels == ["sport/football", "sport/tennis"]
    assert "label_not_found" in [
        p.code
        for p in inspect_corpus(
            root, ["sport/outside", "business"], min_docs_per_label=1
        ).report.problems
    ]


@pytest.mark.parametrize("depth", [0, 9, True, 1.5])
def test_depth_is_checked_where_it_is_declared(depth: object) -> None:
    with pytest.raises(InvalidRequestError, match="depth must be a whole number from 1 to 8"):
        Levels(depth=depth)  # type: ignore[arg-type]
