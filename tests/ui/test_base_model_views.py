"""How the UI words base models: the form's presets, a bake-off's progress and its table."""

from __future__ import annotations

from pathlib import Path

from custom_classifier.config import Settings
from custom_classifier.jobs.contract import TrainingRequest
from custom_classifier.storage.tables import JobRecord
from custom_classifier.training.arguments import AcceptanceCriteria
from custom_classifier.training.presets import list_base_models
from custom_classifier.ui.views import base_model_choices, job_view, report_view


def test_the_form_offers_every_preset_with_its_facts_and_why_it_is_unavailable(
    tmp_path: Path,
) -> None:
    choices = {c["name"]: c for c in base_model_choices(list_base_models(Settings(home=tmp_path)))}

    assert choices["minilm"]["available"] and choices["minilm"]["fine_tuning"] == "full fine-tuning"
    smollm2 = choices["smollm2-135m"]
    assert smollm2["kind"] == "decoder LLM" and smollm2["fine_tuning"] == "LoRA adapters"
    assert smollm2["parameters"] == "135M parameters"
    assert not smollm2["available"] and "models fetch smollm2-135m" in smollm2["reason"]


def bakeoff_job(progress: dict, result: dict | None = None) -> JobRecord:
    return JobRecord(
        id="j1",
        owner="alice",
        name="news",
        location="/data/news",
        labels=["sport", "finance"],
        request=TrainingRequest(
            name="news",
            location="/data/news",
            labels=["sport", "finance"],
            acceptance=AcceptanceCriteria(min_macro_f1=0.8),
        ).to_row(),
        status="running" if result is None else "accepted",
        progress=progress,
        result=result,
    )


def test_a_bakeoffs_progress_says_which_base_model_is_training() -> None:
    candidate = {"name": "smollm2-135m", "number": 2, "of": 2}

    view = job_view(bakeoff_job({"phase": "training", "candidate": candidate}))

    assert view["phase"].endswith("base model 2 of 2: smollm2-135m")


def test_the_report_carries_the_bakeoff_table(tmp_path: Path) -> None:
    rows = [{"name": "minilm", "winner": True}, {"name": "smollm2-135m", "winner": False}]
    result = {"base_model": "minilm", "bakeoff": rows}

    report = report_view(bakeoff_job({"phase": "done"}, result), Settings(home=tmp_path))

    assert report["bakeoff"] == rows and report["base_model"] == "minilm"
