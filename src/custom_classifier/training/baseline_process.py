"""The TF-IDF baseline in a process of its own, so it fits while the model trains.

In a thread it would share the interpreter lock with the training loop, whose Python launches
the GPU's kernels: on an H100, BBC's fine-tuning took 11.5 s beside a baseline thread against
4.5 s alone. A subprocess (not `multiprocessing`: Celery's prefork children are daemonic and
may not start its children) reads its inputs from a pickle file and writes the `Evaluation`
and the predicted labels to another.

The child's BLAS runs on one thread (`_CHILD_ENVIRONMENT`). A worker that warms up
(`jobs.warm_worker`) keeps one child started ahead of its next job (`SPARE`), so that job's
baseline begins fitting as soon as the documents are split instead of after the child's imports.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from custom_classifier.errors import TrainingError

if TYPE_CHECKING:  # so that a job starts the child before it imports sklearn itself
    from custom_classifier.corpus.models import Document
    from custom_classifier.training.evaluation import Evaluation

_REASON_CHARS = 500  # the exception's line, never a traceback

_START = b"fit\n"
"""What the parent writes to the child's standard input once the inputs are written; an end of
input without it (the job failed before its split) ends the child."""

_CHILD_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""The logistic regression's L-BFGS steps are vector operations on 87k x 5 weights (BBC): a
BLAS that spreads each over every core spends more time waking its threads than computing, and
takes those cores from the training beside it. On this repo's 2-core CPU the fit took 0.98 s on
one thread against 4.66 s on two (sklearn 1.9.1, scipy 1.17.1, OpenBLAS); the predicted labels
were the same for every test document of BBC, SMS spam and 20 Newsgroups."""


class BaselineProcess:
    """`with BaselineProcess() as baseline: baseline.fit(train, test, labels); ...;
    baseline.result()`.

    The child starts, and imports sklearn (1.9 s on this repo's 2-core CPU, a third of its work
    on BBC), as soon as the object is made: a job makes it before it reads its folder, and gives
    it the documents once they are split."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="cc-baseline-")
        folder = Path(self._folder.name)
        self._inputs, self._output = folder / "inputs.pkl", folder / "evaluation.pkl"
        self._log = folder / "stderr.log"
        self.predictions: list[Any] = []
        """The baseline's label (multi-label: list of labels) for each test document, once
        `result()` returned."""
        self._evaluation: Evaluation | None = None
        command = [sys.executable, "-m", __name__, str(self._inputs), str(self._output)]
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env={**os.environ, **_CHILD_ENVIRONMENT},
            )

    def fit(
        self,
        train_docs: Sequence[Document],
        test_docs: Sequence[Document],
        labels: Sequence[str],
        *,
        multi_label: bool = False,
        validation_docs: Sequence[Document] = (),
    ) -> None:
        """Fit on `train_docs` (multi-label: thresholds tuned on `validation_docs`), predict
        `test_docs`; in the child, whose `result()` waits for it."""
        validation = list(validation_docs)
        inputs = (list(train_docs), list(test_docs), list(labels), multi_label, validation)
        self._inputs.write_bytes(pickle.dumps(inputs))
        assert self._process.stdin is not None  # opened with a pipe
        try:
            with self._process.stdin as start:
                start.write(_START)
        except BrokenPipeError:  # the child has died: `result()` says why
            pass

    def result(self) -> Evaluation:
        """The baseline's scores on the test documents: waits for the child the first time."""
        if self._evaluation is None:
            self._process.wait()
            if self._process.returncode != 0:
                lines = self._log.read_text(errors="replace").strip().splitlines()
                reason = lines[-1][:_REASON_CHARS] if lines else "no error message"
                raise TrainingError(
                    f"the TF-IDF baseline failed (exit code {self._process.returncode}): {reason}"
                )
            self._evaluation, self.predictions = pickle.loads(self._output.read_bytes())
        return self._evaluation

    def waiting(self) -> bool:
        """Whether the child is alive and not yet given its documents (a spare can be used)."""
        stdin = self._process.stdin
        return self._process.poll() is None and stdin is not None and not stdin.closed

    def predictions_when_fitted(self) -> list[Any]:
        """`predictions` once the child has ended (waits for it): what the gate asks for
        after scoring the model (`jobs.gate.BaselinePredictions`)."""
        self.result()
        return self.predictions

    def __enter__(self) -> BaselineProcess:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._folder.cleanup()


class SpareBaseline:
    """At most one `BaselineProcess` started before the job that will use it: its child imports
    sklearn (1.4-2.2 s on this repo's 2-core CPU, about a third of its work on BBC) while no job
    waits for it. Off until `keep` is called, so that a process that runs one job (the CLI, the
    embedded runner) leaves no idle child behind."""

    def __init__(self) -> None:
        self._child: BaselineProcess | None = None
        self._keeping = False

    def take(self) -> BaselineProcess:
        """The spare child if it is still waiting, else a new one; the caller owns it."""
        child, self._child = self._child, None
        if child is not None and child.waiting():
            return child
        if child is not None:  # it died meanwhile: its folder goes too
            child.__exit__(None, None, None)
        return BaselineProcess()

    def keep(self) -> None:
        """From now on keep a spare, and start it now."""
        self._keeping = True
        self.refill()

    def refill(self) -> None:
        """Start the next job's child, where spares are kept and none is waiting: a job calls
        it once its own baseline has ended."""
        if self._keeping and (self._child is None or not self._child.waiting()):
            if self._child is not None:
                self._child.__exit__(None, None, None)
            self._child = BaselineProcess()


SPARE = SpareBaseline()
"""This process's spare: a worker process runs one job at a time."""


def _main(inputs: Path, output: Path) -> None:
    from custom_classifier.training import baseline
    from custom_classifier.training.evaluation import evaluate_multilabel, evaluate_predictions

    if sys.stdin.buffer.readline() != _START:
        return
    train_docs, test_docs, labels, multi_label, validation = pickle.loads(inputs.read_bytes())
    if multi_label:
        sets = baseline.multilabel_baseline_predictions(train_docs, test_docs, labels, validation)
        evaluation = evaluate_multilabel([d.label_set for d in test_docs], sets, labels)
        output.write_bytes(pickle.dumps((evaluation, sets)))
        return
    predicted = baseline.baseline_predictions(train_docs, test_docs)
    evaluation = evaluate_predictions([d.label for d in test_docs], predicted, labels)
    output.write_bytes(pickle.dumps((evaluation, predicted)))


if __name__ == "__main__":
    _main(Path(sys.argv[1]), Path(sys.argv[2]))
