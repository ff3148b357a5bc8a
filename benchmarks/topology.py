"""The production topology on loopback: start-to-ready time, and single-text prediction latency
and throughput through NGINX with two API replicas and 32 concurrent clients.

    .venv/bin/python -m benchmarks.topology [--seconds 30] [--clients 32] [--tiny]

Starts the same processes as the topology test (support.topology): throwaway
PostgreSQL databases, Redis, MLflow with authentication, two workers, two API replicas, NGINX.
Trains one classifier (bundled all-MiniLM-L6-v2, or a tiny random BERT with --tiny), then
measures. Prints one JSON line and appends it to benchmarks/results/topology.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from factories import make_tiny_base_model, make_zip, topic_folder_files  # noqa: E402
from support.topology import (  # noqa: E402
    Topology,
    TopologyOptions,
    running_topology,
)

RESULTS = Path(__file__).resolve().parent / "results" / "topology.jsonl"
LABELS = ["sport", "finance"]
TEXT = "football match goal striker league team stadium"


def prepare_model(topology: Topology) -> tuple[str, str]:
    """A user, an uploaded dataset and an accepted classifier; returns (api key, run id)."""
    with topology.client(topology.admin_key) as admin:
        key = admin.post("/api/v1/users", json={"username": "bench"}).json()["api_key"]["key"]
    archive = make_zip(
        topology.root / "bench.zip",
        {f"news/{k}": v for k, v in topic_folder_files(dict.fromkeys(LABELS, 12)).items()},
    )
    with topology.client(key) as client, archive.open("rb") as upload:
        location = client.post(
            "/api/v1/datasets", files={"file": ("news.zip", upload, "application/zip")}
        ).json()["location"]
        body = {
            "name": "bench",
            "location": location,
            "labels": LABELS,
            "training": {"epochs": 1, "max_length": 64},
            "acceptance": {"min_macro_f1": 0.0, "min_label_f1": 0.0},
        }
        job = client.post("/api/v1/classifiers", json=body).json()
        while job["status"] not in ("accepted", "rejected", "failed", "cancelled"):
            time.sleep(0.5)
            job = client.get(f"/api/v1/jobs/{job['id']}").json()
    if job["status"] != "accepted":
        raise RuntimeError(f"training did not succeed: {job}")
    return key, job["run_id"]


async def load(url: str, key: str, clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:

        async def one_client() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.post(url, json={"text": TEXT})
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--tiny", action="store_true", help="A tiny random BERT, not MiniLM.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cc-topology-bench-") as folder:
        root = Path(folder)
        base_model = str(make_tiny_base_model(root / "tiny-bert")) if args.tiny else None
        options = TopologyOptions(base_model=base_model, access_log=False)
        with running_topology(root / "topology", options) as topology:
            key, run_id = prepare_model(topology)
            url = f"{topology.url}/api/v1/models/{run_id}/predict"
            asyncio.run(load(url, key, args.clients, 3.0))  # warm both replicas' model caches
            measured = asyncio.run(load(url, key, args.clients, args.seconds))
            result = {
                "benchmark": "topology",
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                "base_model": "tiny-random-bert" if args.tiny else "all-MiniLM-L6-v2",
                "api_replicas": len(topology.api_ports),
                "clients": args.clients,
                "seconds": args.seconds,
                "topology_ready_seconds": round(topology.timings["ready_seconds"], 1),
                **measured,
            }
    print(json.dumps(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as stream:
        stream.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
