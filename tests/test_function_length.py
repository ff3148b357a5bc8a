"""Functions in src/ fit on a screen: no body over 60 lines (STYLE.md, "functions fit on a
screen"). The body is counted from its first statement after the docstring to its last line,
so a long signature of documented options (a CLI command) or a long docstring does not count."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MAX_BODY_LINES = 60
SOURCE = Path(__file__).resolve().parents[1] / "src" / "custom_classifier"


def body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = function.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return (function.end_lineno or function.lineno) - body[0].lineno + 1


def long_functions(source: str, name: str) -> list[str]:
    tree = ast.parse(source, filename=name)
    return [
        f"{name}:{node.lineno} {node.name} ({body_lines(node)} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and body_lines(node) > MAX_BODY_LINES
    ]


def test_no_function_in_src_is_longer_than_60_lines() -> None:
    found = [
        entry
        for path in sorted(SOURCE.rglob("*.py"))
        for entry in long_functions(path.read_text(), str(path.relative_to(SOURCE)))
    ]

    assert not found, f"split these functions (at most {MAX_BODY_LINES} lines each): {found}"


@pytest.mark.parametrize(
    ("statements", "too_long"),
    [(MAX_BODY_LINES, False), (MAX_BODY_LINES + 1, True)],
)
def test_the_check_counts_the_body_after_the_docstring(statements: int, too_long: bool) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(statements))
    source = f'def f(\n    a: int,\n) -> None:\n    """Doc\n\n    string."""\n{body}'

    assert bool(long_functions(source, "m.py")) is too_long
