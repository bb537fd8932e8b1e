"""The gRPC edge only translates: ``api/`` speaks to the service layer, never
to the WhatsApp edge or the stores (issue 17, docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

API = Path(__file__).resolve().parents[2] / "sidecar" / "api"
FORBIDDEN = ("sidecar.whatsapp", "sidecar.stores")


def imported_modules(source: Path) -> set[str]:
    """Every module ``source`` imports, at any depth (inside functions too);
    ``from a import b`` gives ``a`` and ``a.b``, so ``from sidecar import stores`` counts."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def api_modules() -> list[Path]:
    return sorted(p for p in API.rglob("*.py") if "_gen" not in p.parts)


def test_the_api_package_is_found() -> None:
    names = {p.name for p in api_modules()}
    assert {"send.py", "consent.py", "verify.py", "convert.py"} <= names


@pytest.mark.parametrize("module", api_modules(), ids=lambda p: p.name)
def test_api_imports_neither_the_whatsapp_edge_nor_the_stores(module: Path) -> None:
    crossing = sorted(
        name
        for name in imported_modules(module)
        if any(name == f or name.startswith(f"{f}.") for f in FORBIDDEN)
    )
    assert not crossing, f"{module.name} reaches past the service layer: {crossing}"
