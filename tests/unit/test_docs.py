"""The README documents every setting and the two commands it starts with."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.config import FIELDS, env_name

pytestmark = pytest.mark.unit

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_starts_with_the_two_commands() -> None:
    head = README.split("```", 2)[1]
    assert "make run" in head and "make test" in head


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_every_setting_is_in_the_readme(name: str) -> None:
    assert f"`{env_name(name)}" in README
