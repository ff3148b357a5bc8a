"""`custom-classifier users create NAME [--admin]` and `keys create NAME`: print new API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from custom_classifier.config import get_settings
from custom_classifier.errors import CustomClassifierError
from custom_classifier.services import users
from custom_classifier.storage.engine import Database
from custom_classifier.storage.migrate import upgrade

users_app = typer.Typer(help="Manage users of the API.")
keys_app = typer.Typer(help="Manage API keys.")


def _admin_database() -> Database:
    settings = get_settings()
    settings.resolved_home.mkdir(parents=True, exist_ok=True)
    database = Database.connect(settings.resolved_admin_database_url)
    upgrade(database.engine, "admin")
    return database


@users_app.command("create")
def create_user(
    name: Annotated[str, typer.Argument(help="The username (lowercase letters, digits, - or _).")],
    admin: Annotated[bool, typer.Option("--admin", help="Give the admin role.")] = False,
) -> None:
    """Create a user and print their first API key (shown only now)."""
    database = _admin_database()
    try:
        with database.session() as session:
            users.create_user(session, name, is_admin=admin)
            created = users.create_api_key(session, name)
    except CustomClassifierError as error:
        typer.echo(f"error ({error.code}): {error.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    role = "admin" if admin else "user"
    typer.echo(f"created {role} {name!r}; API key (shown only now):", err=True)
    typer.echo(created.key)


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="The user who gets the key.")],
    key_name: Annotated[str, typer.Option("--name", help="A label to tell keys apart.")] = "cli",
) -> None:
    """Create a new API key for an existing user and print it (shown only now)."""
    database = _admin_database()
    try:
        with database.session() as session:
            created = users.create_api_key(session, name, name=key_name)
    except CustomClassifierError as error:
        typer.echo(f"error ({error.code}): {error.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    typer.echo(f"new API key for {name!r} (shown only now):", err=True)
    typer.echo(created.key)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(keys_app, name="keys")
