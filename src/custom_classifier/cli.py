"""The `custom-classifier` command line."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from custom_classifier.config import get_settings
from custom_classifier.errors import CustomClassifierError, InvalidDatasetError

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The newly initialised classification head is expected; its load report would bury the progress bar.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

app = typer.Typer(help="Train and serve document classifiers from folders of labeled documents.")
console = Console(stderr=True)

EXIT_ACCEPTED = 0
EXIT_INVALID_DATA = 2
EXIT_REJECTED = 3
EXIT_ERROR = 1


class Strategy(StrEnum):
    head = "head"
    chunks = "chunks"


LabelsOption = Annotated[list[str], typer.Option("--label", "-l", help="A label folder to use.")]


def _fail(error: CustomClassifierError, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"error": error.to_dict()}, default=str))
    else:
        console.print(f"[bold red]error[/] ({error.code}): {error.message}")
        for problem in error.details.get("report", {}).get("problems", []):
            console.print(f"  - {problem['message']}")
    code = EXIT_INVALID_DATA if isinstance(error, InvalidDatasetError) else EXIT_ERROR
    if error.code in ("location_not_found", "location_not_allowed", "invalid_request"):
        code = EXIT_INVALID_DATA
    raise typer.Exit(code)


def _print_data_report(report: dict[str, Any]) -> None:
    table = Table(title=f"Data report: {report['root']}")
    for column in ("label", "found", "used", "skipped"):
        table.add_column(column)
    for label in report["labels"]:
        skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(label["skipped"].items()))
        table.add_row(label["label"], str(label["found"]), str(label["used"]), skipped or "-")
    console.print(table)
    for problem in report["problems"]:
        console.print(f"[red]problem[/]: {problem['message']}")


def _print_evaluation(outcome: dict[str, Any]) -> None:
    metrics, baseline = outcome["metrics"], outcome["baseline"]
    table = Table(title="Evaluation on the test split")
    for column in ("label", "precision", "recall", "f1", "support"):
        table.add_column(column)
    for label, s in metrics["per_label"].items():
        table.add_row(
            label,
            f"{s['precision']:.3f}",
            f"{s['recall']:.3f}",
            f"{s['f1']:.3f}",
            str(s["support"]),
        )
    console.print(table)
    console.print(
        f"accuracy {metrics['accuracy']:.3f}  macro-F1 {metrics['macro_f1']:.3f}  "
        f"(TF-IDF baseline macro-F1 {baseline['macro_f1']:.3f})"
    )
    if outcome["accepted"]:
        model = outcome["registered_model"]
        console.print(
            f"[bold green]accepted[/]: registered as {model['name']} version {model['version']} "
            f"(alias champion); run {outcome['run_id']}"
        )
    else:
        console.print(f"[bold yellow]rejected[/]: run {outcome['run_id']}, nothing registered")
        for reason in outcome["reasons"]:
            console.print(f"  - {reason}")


@app.command()
def inspect(
    data_dir: Annotated[Path, typer.Argument(help="The folder with one sub-folder per label.")],
    label: LabelsOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Print the data report of a labeled folder without training."""
    from custom_classifier.corpus.reader import inspect_corpus

    settings = get_settings()
    try:
        corpus = inspect_corpus(data_dir, label, min_docs_per_label=settings.min_docs_per_label)
    except CustomClassifierError as error:
        _fail(error, as_json)
    report = corpus.report.to_dict()
    if as_json:
        typer.echo(json.dumps(report))
    else:
        _print_data_report(report)
    raise typer.Exit(EXIT_ACCEPTED if corpus.report.ok else EXIT_INVALID_DATA)


@app.command()
def train(
    data_dir: Annotated[Path, typer.Argument(help="The folder with one sub-folder per label.")],
    name: Annotated[str, typer.Option(help="The classifier's name (registered model name).")],
    label: LabelsOption,
    base_model: Annotated[str | None, typer.Option(help="Hugging Face id or local path.")] = None,
    epochs: Annotated[int | None, typer.Option(min=1)] = None,
    max_length: Annotated[int | None, typer.Option(min=16)] = None,
    long_document_strategy: Annotated[
        Strategy | None, typer.Option(help="`head` truncates; `chunks` uses overlapping windows.")
    ] = None,
    min_macro_f1: Annotated[float | None, typer.Option(min=0, max=1)] = None,
    min_label_f1: Annotated[float | None, typer.Option(min=0, max=1)] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout.")
    ] = False,
) -> None:
    """Fine-tune, evaluate and (if accepted) register a classifier. Exit 0 accepted, 3 rejected."""
    from dataclasses import replace

    from custom_classifier.services.training import TrainingRequest, run_training
    from custom_classifier.training.arguments import AcceptanceCriteria, TrainingArguments
    from custom_classifier.training.process_environment import use_training_environment

    use_training_environment()

    settings = get_settings()
    overrides: dict[str, Any] = {
        "epochs": epochs,
        "max_length": max_length,
        "long_document_strategy": long_document_strategy.value if long_document_strategy else None,
    }
    training = replace(TrainingArguments(), **{k: v for k, v in overrides.items() if v is not None})
    criteria = {"min_macro_f1": min_macro_f1, "min_label_f1": min_label_f1}
    acceptance = replace(
        AcceptanceCriteria(), **{k: v for k, v in criteria.items() if v is not None}
    )
    request = TrainingRequest(
        name=name,
        location=data_dir.resolve(),
        labels=label,
        base_model=base_model,
        training=training,
        acceptance=acceptance,
    )
    from custom_classifier.progress_bar import TrainingProgressBar

    try:
        with TrainingProgressBar(console) as bar:
            outcome = run_training(request, settings, on_progress=bar.update)
    except CustomClassifierError as error:
        _fail(error, as_json)
    result = outcome.to_dict()
    if as_json:
        typer.echo(json.dumps(result, default=str))
    else:
        _print_data_report(result["data_report"])
        _print_evaluation(result)
    raise typer.Exit(EXIT_ACCEPTED if outcome.accepted else EXIT_REJECTED)


@app.command()
def predict(
    model: Annotated[
        str, typer.Argument(help="A run id, or models:/NAME/VERSION, models:/NAME@ALIAS")
    ],
    text: Annotated[list[str] | None, typer.Option("--text", help="A text to classify.")] = None,
    file: Annotated[
        list[Path] | None, typer.Option("--file", help="A document to classify.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Classify texts and documents with a trained model."""
    from custom_classifier.inference.predictor import Predictor
    from custom_classifier.registry.tracking import Registry

    settings = get_settings()
    if not text and not file:
        console.print("[red]error[/]: give at least one --text or --file")
        raise typer.Exit(EXIT_INVALID_DATA)
    predictor = Predictor(
        Registry(settings.resolved_tracking_uri, artifact_root=settings.artifact_root)
    )
    results: list[dict[str, Any]] = []
    try:
        uri = predictor.resolve_model_uri(model)
        for item in text or []:
            results.append({"input": item[:60], **predictor.predict_texts(uri, [item])[0]})
        for path in file or []:
            data = path.read_bytes()
            results.append({"input": str(path), **predictor.predict_file(uri, path.name, data)})
    except CustomClassifierError as error:
        _fail(error, as_json)
    except OSError as error:
        console.print(f"[red]error[/]: cannot read {error.filename}: {error.strerror}")
        raise typer.Exit(EXIT_INVALID_DATA) from None
    if as_json:
        typer.echo(json.dumps(results if len(results) > 1 else results[0]))
        return
    for result in results:
        console.print(f"{result['label']}  {result['score']:.3f}  {result['input']}")


def _register_optional_commands() -> None:
    """Commands of the serving side, registered when their modules exist."""
    import importlib

    for module_name in (
        "custom_classifier.cli_serve",
        "custom_classifier.cli_admin",
        "custom_classifier.cli_worker",
    ):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        module.register(app)


_register_optional_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
