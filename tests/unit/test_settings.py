"""The core's settings: every variable read with its type and default, a value out of bounds refused by name."""

from __future__ import annotations

import pytest
from pollgate.settings import Settings, SettingsInvalid


def test_defaults_apply_and_values_are_read_with_their_types() -> None:
    settings = Settings.from_environment(
        {"TABLE_NAME": "t", "MAX_START_ATTEMPTS": "5", "WEBHOOK_TIMEOUT_SECONDS": "2.5", "UNRELATED": "x"}
    )
    assert settings.table_name == "t"
    assert settings.max_start_attempts == 5
    assert settings.webhook_timeout_seconds == 2.5
    assert settings.result_retention_seconds == 86_400
    assert settings.thingspace_backend == "table"


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({}, "TABLE_NAME"),
        ({"TABLE_NAME": "t", "RESULT_RETENTION_SECONDS": "60"}, "RESULT_RETENTION_SECONDS"),
        ({"TABLE_NAME": "t", "MAX_START_ATTEMPTS": "three"}, "MAX_START_ATTEMPTS"),
        ({"TABLE_NAME": "t", "WEBHOOK_TIMEOUT_SECONDS": "0"}, "WEBHOOK_TIMEOUT_SECONDS"),
        ({"TABLE_NAME": "t", "UAI_STATUS_LOG_DEADLINE_SECONDS": "301"}, "UAI_STATUS_LOG_DEADLINE_SECONDS"),
        ({"TABLE_NAME": "t", "THINGSPACE_BACKEND": "carrier"}, "THINGSPACE_BACKEND"),
    ],
)
def test_a_missing_or_out_of_bounds_value_is_refused_by_name(environment: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsInvalid, match=named):
        Settings.from_environment(environment)


def test_settings_are_frozen() -> None:
    settings = Settings.from_environment({"TABLE_NAME": "t"})
    with pytest.raises(AttributeError):
        settings.table_name = "other"  # type: ignore[misc]
