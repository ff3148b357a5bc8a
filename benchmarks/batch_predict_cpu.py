"""A batch prediction job's throughput on this CPU: 20 Newsgroups' test documents (bydate test
split, 7,532 files) through `POST /api/v1/predictions`, as a user runs it: the app with its
embedded job runner, one worker process, the model from the MLflow registry.

    .venv/bin/python -m benchmarks.batch_predict_cpu [--batch-size 32]

The model: the bundled MiniLM fine-tuned on 20 Newsgroups' training split (20 documents per
label, window 128, 1 epoch; the product's `fine_tune`, so with its int8 ONNX file), built once
into benchmarks/.data. Its accuracy is beside the point: the number is documents per second.
Printed: the job's own figure (documents / seconds since the attempt started, model loading
included), the same from its start and end times, and the wall time from the request to
`completed`; with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from benchmarks.datasets import CACHE, dataset_folder, label_folders  # noqa: E402

MODEL_DIR = CACHE / "20news-batch-model"
PER_LABEL = 20
OWNER = "bench"
NAME = "news20"


def trained_model() -> Path:
    if (MODEL_DIR / "model" / "classifier.json").is_file():
        return MODEL_DIR / "model"
    from custom_classifier.config import bundled_base_model
    from custom_classifier.corpus.models import Split
    from custom_classifier.corpus.reader import inspect_corpus
    from custom_classifier.training.arguments import TrainingArguments
    from custom_classifier.training.trainer import fine_tune

    root = dataset_folder("20news-train")
    labels = label_folders(root)
    documents = inspect_corpus(root, labels, min_docs_per_label=1).documents
    train = [d for label in labels for d in [x for x in documents if x.label == label][:PER_LABEL]]
    args = replace(TrainingArguments(), epochs=1, max_length=128)
    split = Split(train=train, validation=[], test=[])
    return fine_tune(bundled_base_model(), split, labels, args, MODEL_DIR).model_dir


def run_job(model_dir: Path, folder: Path, batch_size: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from custom_classifier.app import create_app
    from custom_classifier.config import Settings
    from custom_classifier.services import users

    with tempfile.TemporaryDirectory(prefix="cc-batch-bench-") as home:
        settings = Settings(home=Path(home), data_roots=[folder.parent])
        with TestClient(create_app(settings)) as client:
            runtime = client.app.state.runtime  # type: ignore[attr-defined]
            with runtime.databases.admin.session() as session:
                users.create_user(session, OWNER)
                key = users.create_api_key(session, OWNER).key
            with runtime.registry.start_run(OWNER, NAME) as run:
                run.log_classifier_model(model_dir)
            runtime.registry.register(run.run_id, OWNER, NAME)
            headers = {"Authorization": f"Bearer {key}"}
            body = {"classifier": NAME, "location": str(folder), "batch_size": batch_size}
            started = time.perf_counter()
            job = client.post("/api/v1/predictions", headers=headers, json=body).json()
            while job["status"] not in ("completed", "failed", "cancelled"):
                time.sleep(1.0)
                job = client.get(f"/api/v1/predictions/{job['id']}", headers=headers).json()
            wall = time.perf_counter() - started
    return {"job": job, "wall_seconds": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    options = parser.parse_args()
    model_dir = trained_model()
    folder = dataset_folder("20news-test")
    load_before = os.getloadavg()
    outcome = run_job(model_dir, folder, options.batch_size)
    job = outcome["job"]
    assert job["status"] == "completed", job
    from datetime import datetime

    ran = datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["started_at"])
    total = job["summary"]["total"]
    print(
        json.dumps(
            {
                "documents": total,
                "classified": job["summary"]["classified"],
                "unreadable": job["summary"]["unreadable"],
                "batch_size": options.batch_size,
                "job_per_second": job["progress"]["per_second"],
                "started_to_finished_seconds": round(ran.total_seconds(), 1),
                "per_second_started_to_finished": round(total / ran.total_seconds(), 1),
                "request_to_completed_seconds": round(outcome["wall_seconds"], 1),
                "load_before": [round(x, 2) for x in load_before],
                "load_after": [round(x, 2) for x in os.getloadavg()],
                "cpus": os.cpu_count(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
