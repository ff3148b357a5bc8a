"""Nested label folders in the browser: the level chosen on the form re-reads the folder, and
the labels panel shows the folder tree with counts per node (a short node marked)."""

from __future__ import annotations

from typing import Any

from factories import distinct_texts, make_labeled_folder, make_topic_folder
from ui.pages import UiServer, shot, sign_in


def test_the_form_shows_the_label_tree_at_the_level_chosen(page: Any, ui_server: UiServer) -> None:
    from playwright.sync_api import expect

    news = make_topic_folder(
        ui_server.data_root / "shared", {"sport": 14, "cooking": 14, "finance": 14}, name="news"
    )
    (news / "leisure").mkdir()
    for leaf in ("sport", "cooking"):
        (news / leaf).rename(news / "leisure" / leaf)
    make_labeled_folder(news.parent, {"leisure/chess": distinct_texts("chess", 2)}, name="news")
    sign_in(page, ui_server.admin_key)

    page.goto(f"/ui/new?location={news}")
    labels = page.locator("#labels input[name=labels]")
    expect(labels).to_have_count(2)  # flat: the top-level folders
    page.select_option("#depth", "2")
    expect(labels).to_have_count(4)

    values = [labels.nth(i).get_attribute("value") for i in range(4)]
    assert values == ["finance", "leisure/chess", "leisure/cooking", "leisure/sport"]
    tree = page.locator("#label-tree")
    expect(tree.locator("[data-node='leisure'] > .count").first).to_have_text("30")
    expect(tree.locator("[data-node='leisure/chess']")).to_have_class("trained has-problem")
    expect(page.locator("#label-4")).to_be_checked()
    expect(page.locator("#label-2")).not_to_be_checked()  # chess: 2 documents, 5 needed
    page.locator("#labels").scroll_into_view_if_needed()
    shot(page, "label-tree")
