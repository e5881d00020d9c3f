"""The template's LogLevel reaches Lambda's own log filter: with LogFormat JSON, Lambda drops application logs
below ApplicationLogLevel before Powertools sees its own level, so a LogLevel that stopped at
POWERTOOLS_LOG_LEVEL would change nothing. Read as `sam local` and CloudFormation read it: Globals merged into
every function and the Mappings resolved, for each value the parameter allows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.yamlhelper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
LOG_LEVELS: list[str] = yaml_parse(TEMPLATE.read_text())["Parameters"]["LogLevel"]["AllowedValues"]
# Lambda's advanced logging controls spell WARNING as WARN; its system levels stop at WARN.
APPLICATION_LEVEL = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARN", "ERROR": "ERROR"}
SYSTEM_LEVELS = {"DEBUG", "INFO", "WARN"}


def _functions(log_level: str) -> dict[str, Any]:
    stacks, _ = SamLocalStackProvider.get_stacks(str(TEMPLATE), parameter_overrides={"LogLevel": log_level})
    provider = SamFunctionProvider(stacks, ignore_code_extraction_warnings=True)
    return {function.name: function for function in provider.get_all()}


def test_the_parameter_allows_exactly_the_levels_the_mapping_translates() -> None:
    assert sorted(LOG_LEVELS) == sorted(APPLICATION_LEVEL)


@pytest.mark.parametrize("log_level", LOG_LEVELS)
def test_every_function_gets_the_log_level_as_lambdas_application_log_level(log_level: str) -> None:
    functions = _functions(log_level)
    assert len(functions) > 20  # every function of the template, not an empty provider
    for name, function in functions.items():
        logging_config = function.logging_config or {}
        assert logging_config.get("LogFormat") == "JSON", name
        assert logging_config.get("ApplicationLogLevel") == APPLICATION_LEVEL[log_level], name
        assert logging_config.get("SystemLogLevel") in SYSTEM_LEVELS, name
        assert function.environment["Variables"]["POWERTOOLS_LOG_LEVEL"] == log_level, name


def test_debug_shows_lambdas_own_debug_lines_and_no_level_hides_the_report_line() -> None:
    assert {function.logging_config["SystemLogLevel"] for function in _functions("DEBUG").values()} == {"DEBUG"}
    for log_level in ("INFO", "WARNING", "ERROR"):
        assert {function.logging_config["SystemLogLevel"] for function in _functions(log_level).values()} == {"INFO"}
