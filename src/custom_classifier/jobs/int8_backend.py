"""The int8 CPU backend of a registered version, made after the verdict.

Worker side. The gate judged the exact model and the version was registered serving it
(`served: pending`); this step exports the int8 ONNX file, checks it on the test documents
beside the exact model exactly as the gate would have (`training.served.check_int8_file`), and
publishes the outcome into the version (`Registry.publish_cpu_backend`). The export took 4-6 s
of a 10-11 s GPU job (BENCHMARKS.md, "The BBC job"); the verdict no longer waits for it.

Whatever goes wrong here, the version keeps serving the exact model it was judged as, and says
why: this step never fails the training. A worker stopped during it (`WorkerInterrupted`, a
`BaseException`) ends the run like any unfinished run: its version is taken back.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from custom_classifier.inference.classifier_folder import ONNX_FILE, update_settings

if TYPE_CHECKING:
    from custom_classifier.corpus.models import Split
    from custom_classifier.jobs.gate import GateReport
    from custom_classifier.registry.run_logger import RunLogger
    from custom_classifier.registry.tracking import Registry
    from custom_classifier.training.served import ServedCheck

logger = logging.getLogger(__name__)


def serve_int8_when_faithful(
    registry: Registry,
    run: RunLogger,
    registered: dict[str, Any],
    model_dir: Path,
    split: Split,
    labels: list[str],
    gate: GateReport,
    *,
    multi_label: bool,
) -> GateReport:
    """Make and check the int8 file of the registered `model_dir`, publish what serves on a
    CPU, and record it on the run (metrics, `cc.served_backend`, `gate.json`); returns the
    gate's report with its served check updated."""
    try:
        check = _export_and_check(model_dir, split, labels, multi_label=multi_label)
    except Exception as error:  # noqa: BLE001 - an optimisation: the exact model serves
        logger.warning("the int8 step failed; the exact model serves", exc_info=True)
        check = _exact_serves(model_dir, gate.served, f"{type(error).__name__}: {error}")
    try:
        registry.publish_cpu_backend(
            run.run_id, registered["name"], int(registered["version"]), model_dir
        )
    except Exception as error:  # noqa: BLE001 - the version keeps serving the exact model
        logger.warning("could not publish the int8 file; the exact model serves", exc_info=True)
        check = _exact_serves(model_dir, check, f"publishing failed: {error}")
        registry.mark_cpu_backend(registered["name"], int(registered["version"]), check.reason)
    notes = gate.notes + ([check.note] if check.note else [])
    updated = replace(gate, served=check, notes=notes)
    run.log_metrics(check.metrics())
    run.set_tags({"cc.served_backend": check.backend})
    run.log_dict(updated.to_dict(), "gate.json")
    return updated


def _export_and_check(
    model_dir: Path, split: Split, labels: list[str], *, multi_label: bool
) -> ServedCheck:
    # Through the module, at call time: tests replace `export_onnx` in the training process.
    from custom_classifier.training import onnx_export
    from custom_classifier.training.served import check_int8_file

    onnx_export.export_onnx(model_dir)
    texts = [doc.text for doc in split.test]
    truth: list[str] | list[list[str]]
    truth = (
        [list(d.label_set) for d in split.test] if multi_label else [d.label for d in split.test]
    )
    return check_int8_file(model_dir, texts, truth, labels)


def _exact_serves(model_dir: Path, check: ServedCheck, failure: str) -> ServedCheck:
    reason = f"the int8 step failed ({failure}): the exact model serves on CPUs"
    (Path(model_dir) / ONNX_FILE).unlink(missing_ok=True)
    update_settings(model_dir, served={"cpu_backend": "torch", "reason": reason})
    return replace(check, backend=check.exact_backend, reason=reason)
