"""docs/configuration.md names every template parameter and every variable the core reads, with the defaults the
code and template really have: an operator configures from it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from pollgate.settings import variables
from samcli.yamlhelper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "configuration.md").read_text()
PARAMETERS = yaml_parse((ROOT / "template.yaml").read_text())["Parameters"]


def _table(heading: str) -> dict[str, list[str]]:
    """The rows of the markdown table under `heading`, by the name in their first cell."""
    section = PAGE.split(f"\n{heading}\n", 1)[1].split("\n#", 1)[0]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| `")
    ]
    return {row[0].strip("`"): row[1:] for row in rows}


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_every_template_parameter_is_documented_with_its_default(name: str) -> None:
    rows = _table("## Template parameters")
    assert name in rows, f"docs/configuration.md's Template parameters table lacks {name}"
    default = str(PARAMETERS[name].get("Default", ""))
    assert rows[name][0] == (f"`{default}`" if default else "empty")


@pytest.mark.parametrize("variable", sorted(variables()))
def test_every_environment_variable_of_the_core_is_documented_with_its_default(variable: str) -> None:
    default = variables()[variable]
    rows = _table("## Environment variables")
    assert variable in rows, f"docs/configuration.md's Environment variables table lacks {variable}"
    documented = rows[variable][0]
    if default is dataclasses.MISSING:
        assert documented == "(required)"
    else:
        shown = re.sub(r"\.0$", "", str(default)) if isinstance(default, float) else str(default)
        assert documented == (f"`{shown}`" if shown else "empty")
