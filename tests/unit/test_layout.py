"""The shape of the code base: small rooms, and a module map that lists them all.

``docs/ARCHITECTURE.md`` is where maintainers look first; a module that is
missing from its map, or a file that grew two roles (over 450 lines), is
caught here rather than in review.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sidecar"
MAX_LINES = 450
MODULES = sorted(
    path
    for path in PACKAGE.rglob("*.py")
    if "_gen" not in path.relative_to(PACKAGE).parts and path.name != "__main__.py"
)


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_module_is_over_450_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines: split it by role"


def _mapped(architecture: str) -> set[str]:
    """Module paths the map's code block names: each line's first word, joined
    to the folder line above it (``api/`` then ``  convert.py``)."""
    block = architecture.split("## Module map", 1)[1].split("```", 2)[1]
    found: set[str] = set()
    folders: list[tuple[int, str]] = []
    for line in block.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        indent = len(line) - len(line.lstrip())
        while folders and folders[-1][0] >= indent:
            folders.pop()
        prefix = "".join(folder for _, folder in folders)
        words = stripped.split()
        first = words[0]
        if first.endswith("/"):
            folders.append((indent, "" if first == "sidecar/" else first))
            continue
        # "send.py verify.py consent.py   servicers" and "__main__.py, cli.py" name several
        for word in words:
            module = word.rstrip(",")
            if not module.endswith(".py"):
                break
            found.add(prefix + module)
    return found


def test_the_architecture_module_map_lists_every_module() -> None:
    mapped = _mapped((ROOT / "docs" / "ARCHITECTURE.md").read_text())
    # A package's __init__ re-exports its modules; the folder line stands for it.
    missing = [_name(p) for p in MODULES if p.name != "__init__.py" and _name(p) not in mapped]
    assert not missing, f"docs/ARCHITECTURE.md's module map lacks: {missing}"
