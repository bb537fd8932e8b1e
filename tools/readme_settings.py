"""Rewrite the settings table in README.md from ``sidecar.config`` (one source of truth).

Usage: python tools/readme_settings.py   (a unit test checks every setting is listed)
"""

from __future__ import annotations

from pathlib import Path

from sidecar.config import reference_table

README = Path(__file__).resolve().parent.parent / "README.md"
HEADER = "| variable | meaning | default |"


def main() -> None:
    lines = README.read_text().splitlines()
    start = lines.index(HEADER)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    lines[start:end] = reference_table().splitlines()
    README.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
