"""Data-parallel fine-tuning: one process per GPU, gradients averaged by DistributedDataParallel.

The worker trains this way when it sees several GPUs and the training is large enough to
gain from them (`training_processes`). Each rank is a
fresh Python process started with `subprocess` (`python -m custom_classifier.training.
data_parallel SPEC RANK`), so it works under any job runner: Celery's prefork children are
daemonic and may not start `multiprocessing` children. Rank 0 relays progress, per-epoch
metrics and its result (or error) to the caller over an authenticated local connection; the
caller sends a cancellation back, and the trainer shares it with every rank at the same step.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import secrets
import subprocess
import sys
import threading
import time
import traceback
from datetime import timedelta
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

from custom_classifier.corpus.models import Split
from custom_classifier.errors import TrainingCancelledError, TrainingError
from custom_classifier.processes import free_port, stop_processes
from custom_classifier.training.arguments import (
    EpochCallback,
    ProgressCallback,
    StopCheck,
    TrainingArguments,
)
from custom_classifier.training.trainer import FineTuneResult, fine_tune

_AUTHKEY_VARIABLE = "CC_DATA_PARALLEL_AUTHKEY"
_SPEC_FILE = "data-parallel-spec.pkl"
_CANCEL = "cancel"
_POLL_SECONDS = 0.2
_ERROR_GRACE_SECONDS = 15.0
"""After a rank fails, how long rank 0 has to send its error before the others are stopped."""
_COLLECTIVE_TIMEOUT = timedelta(minutes=30)
_STOP_GRACE_SECONDS = 30.0


DATA_PARALLEL_MIN_TOKENS = 50_000_000
"""Smaller trainings stay on one GPU. Starting the ranks (a Python process, CUDA and NCCL each,
tokenizing again) cost about 14 s on two H100s, against a steady speed-up of 1.55x: one GPU
finishes first unless it would train for about 40 s (43 million tokens at 1.09 million a
second). Measured with `benchmarks/train_gpu_ddp.py`."""
_CHARS_PER_TOKEN = 4  # a rough mean for English word-piece vocabularies


def estimated_training_tokens(split: Split, args: TrainingArguments) -> int:
    """Tokens the training will see over its epochs, from the characters of its documents."""
    longest = args.max_length
    if args.long_document_strategy == "chunks":
        longest = args.max_length * args.max_chunks_per_document
    per_epoch = sum(min(len(d.text) / _CHARS_PER_TOKEN, longest) for d in split.train)
    return int(per_epoch * args.epochs)


def training_processes(
    requested_gpus: int | None, training_tokens: int, visible_gpus: int | None = None
) -> int:
    """How many processes train: one, or every visible GPU (at most `requested_gpus`) when
    the training is large enough to gain from several (`DATA_PARALLEL_MIN_TOKENS`)."""
    if visible_gpus is None:
        import torch

        visible_gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if visible_gpus < 2 or training_tokens < DATA_PARALLEL_MIN_TOKENS:
        return 1
    return visible_gpus if requested_gpus is None else max(1, min(requested_gpus, visible_gpus))


def fine_tune_data_parallel(
    processes: int,
    base_model: str,
    split: Split,
    labels: list[str],
    args: TrainingArguments,
    output_dir: Path,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    on_epoch_end: EpochCallback | None = None,
) -> FineTuneResult:
    """`fine_tune` in `processes` ranks (NCCL on GPUs, gloo on CPUs); rank 0 writes the model."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    authkey = secrets.token_bytes(32)
    with Listener(("127.0.0.1", 0), authkey=authkey) as listener:
        spec = {
            "address": listener.address,
            "base_model": base_model,
            "split": split,
            "labels": labels,
            "args": args,
            "output_dir": output_dir,
        }
        spec_file = output_dir / _SPEC_FILE
        spec_file.write_bytes(pickle.dumps(spec))
        ranks = _start_ranks(processes, spec_file, authkey)
        try:
            connection = _accept(listener, ranks)
            with connection:
                return _relay(connection, ranks, on_progress, should_stop, on_epoch_end)
        finally:
            stop_processes(ranks, grace=_STOP_GRACE_SECONDS)
            spec_file.unlink(missing_ok=True)


def _start_ranks(processes: int, spec_file: Path, authkey: bytes) -> list[subprocess.Popen[bytes]]:
    port = free_port()
    ranks = []
    for rank in range(processes):
        env = os.environ | {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(processes),
            _AUTHKEY_VARIABLE: authkey.hex(),
        }
        command = [sys.executable, "-m", __name__, str(spec_file)]
        ranks.append(subprocess.Popen(command, env=env))
    return ranks


def _accept(listener: Listener, ranks: list[subprocess.Popen[bytes]]) -> Connection:
    """Rank 0's connection; a failure if every rank ends first (a broken install, a crash)."""
    accepted: queue.Queue[Connection] = queue.Queue()

    def accept() -> None:
        with contextlib.suppress(OSError):  # the listener was closed: nobody will connect
            accepted.put(listener.accept())

    threading.Thread(target=accept, name="cc-data-parallel-accept", daemon=True).start()
    while True:
        try:
            return accepted.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if ranks[0].poll() is not None:
                raise TrainingError(_exit_message(ranks)) from None


def _relay(
    connection: Connection,
    ranks: list[subprocess.Popen[bytes]],
    on_progress: ProgressCallback | None,
    should_stop: StopCheck | None,
    on_epoch_end: EpochCallback | None,
) -> FineTuneResult:
    cancel_sent = False
    failed_at: float | None = None
    while True:
        if should_stop is not None and not cancel_sent and should_stop():
            connection.send(_CANCEL)
            cancel_sent = True
        try:
            message = connection.recv() if connection.poll(_POLL_SECONDS) else None
        except (EOFError, OSError):  # rank 0 ended without a result
            raise TrainingError(_exit_message(ranks, wait=True)) from None
        if message is not None:
            kind, payload = message
            if kind == "progress" and on_progress is not None:
                on_progress(payload)
            elif kind == "epoch" and on_epoch_end is not None:
                on_epoch_end(*payload)
            elif kind == "result":
                _wait_for_every_rank(ranks)
                return payload  # type: ignore[no-any-return]
            elif kind == "error":
                raise payload
        if failed_at is None and any(rank.poll() not in (None, 0) for rank in ranks):
            failed_at = time.monotonic()
        if failed_at is not None and time.monotonic() - failed_at > _ERROR_GRACE_SECONDS:
            raise TrainingError(_exit_message(ranks))


def _wait_for_every_rank(ranks: list[subprocess.Popen[bytes]]) -> None:
    """Let the ranks leave their process group; the model folder is already complete."""
    deadline = time.monotonic() + _ERROR_GRACE_SECONDS
    for rank in ranks:
        with contextlib.suppress(subprocess.TimeoutExpired):  # `stop_processes` ends a straggler
            rank.wait(timeout=max(0.0, deadline - time.monotonic()))


def _exit_message(ranks: list[subprocess.Popen[bytes]], *, wait: bool = False) -> str:
    if wait:
        deadline = time.monotonic() + _ERROR_GRACE_SECONDS
        while time.monotonic() < deadline and any(rank.poll() is None for rank in ranks):
            time.sleep(_POLL_SECONDS)
    codes = ", ".join(
        f"rank {index}: {'running' if rank.poll() is None else f'exit code {rank.returncode}'}"
        for index, rank in enumerate(ranks)
    )
    return (
        f"data-parallel training over {len(ranks)} processes failed ({codes}); the worker's "
        "log has each process's error. Set CC_TRAINING_GPUS=1 to train on one GPU."
    )


# --- one rank ----------------------------------------------------------------------------------


def _run_rank(spec_file: Path) -> int:
    import torch
    import torch.distributed as dist

    spec = pickle.loads(spec_file.read_bytes())
    rank = int(os.environ["RANK"])
    connection = None
    if rank == 0:
        authkey = bytes.fromhex(os.environ.pop(_AUTHKEY_VARIABLE))
        connection = Client(spec["address"], authkey=authkey)
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, timeout=_COLLECTIVE_TIMEOUT)
    try:
        result = fine_tune(
            spec["base_model"],
            spec["split"],
            spec["labels"],
            spec["args"],
            spec["output_dir"],
            **(_relaying(connection) if connection is not None else {}),
        )
        if connection is not None:
            connection.send(("result", result))
        return 0
    except TrainingCancelledError as error:
        if connection is not None:
            connection.send(("error", error))
        return 0  # every rank stopped at the same step, on purpose
    except Exception as error:
        traceback.print_exc()
        if connection is not None:
            connection.send(("error", _picklable(error)))
        return 1
    finally:
        dist.destroy_process_group()
        if connection is not None:
            connection.close()


def _relaying(connection: Connection) -> dict[str, Any]:
    """Rank 0's callbacks: progress and epochs to the caller; cancellation from it.

    A caller that is gone (its worker was killed) counts as a cancellation, so the ranks stop
    together instead of training on for nobody.
    """
    cancelled = False

    def should_stop() -> bool:
        nonlocal cancelled
        try:
            while not cancelled and connection.poll():
                cancelled = connection.recv() == _CANCEL
        except (EOFError, OSError):
            cancelled = True
        return cancelled

    def send(message: tuple[str, Any]) -> None:
        nonlocal cancelled
        try:
            connection.send(message)
        except OSError:
            cancelled = True

    return {
        "on_progress": lambda progress: send(("progress", progress)),
        "on_epoch_end": lambda epoch, metrics: send(("epoch", (epoch, metrics))),
        "should_stop": should_stop,
    }


def _picklable(error: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any error that cannot travel is described instead
        return TrainingError(f"training failed: {type(error).__name__}: {error}")
    return error


if __name__ == "__main__":
    sys.exit(_run_rank(Path(sys.argv[1])))
