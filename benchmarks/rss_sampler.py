"""Resident memory of running `custom-classifier train` commands, sampled every few seconds.

Prints one line per process and sample, `seconds name MiB`: the train command's process as
`DATASET_train` (DATASET the last part of the folder it trains on), each of its children
(the TF-IDF baseline's) as `DATASET_child`. Stops when `--seconds` have passed, or when no train
command has run for `--idle` seconds after one was seen.

    .venv/bin/python -m benchmarks.rss_sampler [--every 10] [--seconds 7200] > rss.txt
"""

from __future__ import annotations

import argparse
import time

import psutil


def train_processes() -> dict[str, psutil.Process]:
    """The running train commands, by the name of the folder each trains on."""
    found: dict[str, psutil.Process] = {}
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if any(part.endswith("custom-classifier") for part in command[:2]) and "train" in command:
            folder = command[command.index("train") + 1].rstrip("/").rsplit("/", 1)[-1]
            found[folder] = process
    return found


def sample(started: float) -> list[str]:
    lines = []
    seconds = round(time.monotonic() - started)
    for folder, process in train_processes().items():
        try:
            members = [(f"{folder}_train", process)]
            members += [(f"{folder}_child", child) for child in process.children(recursive=True)]
            for name, member in members:
                lines.append(f"{seconds} {name} {member.memory_info().rss / 2**20:.0f}")
        except psutil.NoSuchProcess:
            continue
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=7200.0)
    parser.add_argument("--idle", type=float, default=60.0)
    options = parser.parse_args()
    started = last_seen = time.monotonic()
    seen = False
    while time.monotonic() - started < options.seconds:
        lines = sample(started)
        if lines:
            seen, last_seen = True, time.monotonic()
            print("\n".join(lines), flush=True)
        elif seen and time.monotonic() - last_seen > options.idle:
            break
        time.sleep(options.every)


if __name__ == "__main__":
    main()
