"""Prediction latency and throughput over HTTP, beside the in-process predictor.

Logs a classifier built on the bundled MiniLM as an MLflow run (the scores do not matter for
speed, so it is not trained), starts `custom-classifier serve` on an empty CC_HOME, warms the
model cache, then measures on the same texts:

- HTTP: `POST /api/v1/models/{run_id}/predict` with one text; p50/p99 of sequential requests and
  the throughput of 16 concurrent clients;
- in process: `Predictor.predict_texts(uri, [text])`, sequential and with 16 threads.

    .venv/bin/python -m benchmarks.api_latency [--requests 300] [--clients 16] [--seconds 20]

Prints a Markdown table and one JSON line, appended to benchmarks/results/api_latency.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

LABELS = ["business", "sport", "tech"]
WORDS = (
    "the market rose after the company reported strong quarterly profit while the team won "
    "the final match and a new phone with a faster chip was announced by the firm today"
).split()
RESULTS = Path(__file__).resolve().parent / "results" / "api_latency.jsonl"


def make_texts(count: int, words: int = 120, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=words)) for _ in range(count)]


def log_bundled_classifier(home: Path, owner: str) -> str:
    """A MiniLM classifier (random head) logged as an accepted run of `owner`; its run id.
    Like a trained one, it carries the int8 ONNX copy that prediction on a CPU uses."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from custom_classifier.config import Settings, bundled_base_model
    from custom_classifier.registry.tags import TAGS
    from custom_classifier.registry.tracking import Registry
    from custom_classifier.training.onnx_export import export_onnx

    settings = Settings(home=home)
    model_dir = home / "bench-model"
    model = AutoModelForSequenceClassification.from_pretrained(
        bundled_base_model(),
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    model.save_pretrained(model_dir)
    AutoTokenizer.from_pretrained(bundled_base_model()).save_pretrained(model_dir)
    config = {"labels": LABELS, "max_length": 512, "long_document_strategy": "head"}
    (model_dir / "classifier.json").write_text(json.dumps({**config, "chunk_stride": 64}))
    export_onnx(model_dir)
    registry = Registry(settings.resolved_tracking_uri, settings.artifact_root)
    with registry.start_run(owner, "bench") as run:
        run.log_classifier_model(model_dir)
        run.set_tags({TAGS.outcome: "accepted"})
    return str(run.run_id)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "p50_ms": round(pick(0.50) * 1000, 2),
        "p99_ms": round(pick(0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


def sequential(call: Callable[[str], Any], texts: list[str], requests: int) -> dict[str, float]:
    samples = []
    for index in range(requests):
        started = time.perf_counter()
        call(texts[index % len(texts)])
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def concurrent(
    make_call: Callable[[], Callable[[str], Any]], texts: list[str], clients: int, seconds: float
) -> dict[str, float]:
    """`clients` threads calling as fast as they can for `seconds`: requests per second."""
    done: list[float] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(number: int) -> None:
        call = make_call()
        index = number
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            call(texts[index % len(texts)])
            with lock:
                done.append(time.perf_counter() - started)
            index += clients

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"requests_per_second": round(len(done) / elapsed, 2), **percentiles(done)}


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """`custom-classifier serve` on a free port; its base URL and the admin key it printed."""
    from custom_classifier.processes import free_port

    port = free_port()
    log = (home / "serve.log").open("w")
    command = [sys.executable, "-m", "custom_classifier.cli", "serve", "--port", str(port)]
    environment = {**os.environ, "CC_HOME": str(home)}
    server = subprocess.Popen(command, env=environment, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                key = re.search(r"cc_[0-9a-f]+_\S+", (home / "serve.log").read_text())
                if key is None:
                    raise SystemExit("the server did not print an admin key")
                return server, base, key.group()
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"the server did not start; see {home / 'serve.log'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()

    import httpx

    from custom_classifier.config import Settings
    from custom_classifier.inference.predictor import Predictor
    from custom_classifier.registry.tracking import Registry

    texts = make_texts(64)
    with tempfile.TemporaryDirectory(prefix="cc-bench-") as tmp:
        home = Path(tmp)
        server, base, key = start_server(home)
        try:
            run_id = log_bundled_classifier(home, owner="admin")
            url = f"{base}/api/v1/models/{run_id}/predict"
            headers = {"Authorization": f"Bearer {key}"}

            def http_call() -> Callable[[str], Any]:
                client = httpx.Client(headers=headers, timeout=60)

                def call(text: str) -> Any:
                    response = client.post(url, json={"text": text})
                    response.raise_for_status()
                    return response.json()

                return call

            warm = http_call()
            for text in texts[:5]:
                warm(text)  # loads the model into the server's cache
            http_sequential = sequential(warm, texts, args.requests)
            http_concurrent = concurrent(http_call, texts, args.clients, args.seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)

        settings = Settings(home=home)
        predictor = Predictor(Registry(settings.resolved_tracking_uri, settings.artifact_root))
        uri = f"runs:/{run_id}/model"

        def local_call(text: str) -> Any:
            return predictor.predict_texts(uri, [text])

        for text in texts[:5]:
            local_call(text)
        local_sequential = sequential(local_call, texts, args.requests)
        local_concurrent = concurrent(lambda: local_call, texts, args.clients, args.seconds)

    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "model": "bundled all-MiniLM-L6-v2, max_length 512 (int8 ONNX), 120-word texts",
        "http": {"sequential": http_sequential, "concurrent": http_concurrent},
        "in_process": {"sequential": local_sequential, "concurrent": local_concurrent},
        "clients": args.clients,
    }
    print(
        f"| path | p50 ms | p99 ms | {args.clients} clients req/s |\n|---|---|---|---|\n"
        f"| HTTP POST /models/{{run_id}}/predict | {http_sequential['p50_ms']} | "
        f"{http_sequential['p99_ms']} | {http_concurrent['requests_per_second']} |\n"
        f"| in-process Predictor | {local_sequential['p50_ms']} | "
        f"{local_sequential['p99_ms']} | {local_concurrent['requests_per_second']} |"
    )
    print(json.dumps(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
