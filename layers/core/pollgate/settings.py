"""Configuration, read from the environment once per process (the template sets every variable).

A frozen dataclass checked by hand rather than a pydantic model: every function reads its settings, and building a
pydantic model's schema at import (plus loading pydantic, in the functions that need nothing else of it) was a
tenth of a cold start. Each field's metadata says its variable and its bounds; `Settings.from_environment` refuses
a value out of bounds with SettingsInvalid naming the variable.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Self

# Step Functions stops an Express execution after five minutes, whatever its definition says.
EXPRESS_WORKFLOW_LIMIT_SECONDS = 300


class SettingsInvalid(ValueError):
    """An environment variable is missing or out of bounds (the function cannot start)."""


def _var(
    name: str,
    default: Any = dataclasses.MISSING,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    pattern: str | None = None,
) -> Any:
    bounds = {"ge": ge, "gt": gt, "le": le, "pattern": pattern}
    return dataclasses.field(default=default, metadata={"variable": name, **bounds})


@dataclass(frozen=True)
class Settings:
    table_name: str = _var("TABLE_NAME")
    stage: str = _var("STAGE", "local")
    result_retention_seconds: int = _var("RESULT_RETENTION_SECONDS", 86_400, ge=86_400)
    # How long an expired polling ID keeps answering 410 before its record is deleted for good (then 404).
    tombstone_seconds: int = _var("TOMBSTONE_SECONDS", 7 * 86_400, ge=0)
    # Each workflow's deadline: its state machine's TimeoutSeconds, which template.yaml's WorkflowDeadlines mapping
    # gives both the state machine and these. Past it (and its start) the sweeper re-drives the operation; after
    # max_start_attempts it fails it. Unset: the longest any Express workflow runs, so none is re-driven early.
    uai_status_log_deadline_seconds: int = _var(
        "UAI_STATUS_LOG_DEADLINE_SECONDS", EXPRESS_WORKFLOW_LIMIT_SECONDS, ge=1, le=EXPRESS_WORKFLOW_LIMIT_SECONDS
    )
    thingspace_device_action_deadline_seconds: int = _var(
        "THINGSPACE_DEVICE_ACTION_DEADLINE_SECONDS",
        EXPRESS_WORKFLOW_LIMIT_SECONDS,
        ge=1,
        le=EXPRESS_WORKFLOW_LIMIT_SECONDS,
    )
    webhook_recovery_deadline_seconds: int = _var(
        "WEBHOOK_RECOVERY_DEADLINE_SECONDS", EXPRESS_WORKFLOW_LIMIT_SECONDS, ge=1, le=EXPRESS_WORKFLOW_LIMIT_SECONDS
    )
    webhook_recovery_state_machine_arn: str = _var("WEBHOOK_RECOVERY_STATE_MACHINE_ARN", "")
    max_start_attempts: int = _var("MAX_START_ATTEMPTS", 3, ge=1)
    retry_after_seconds: int = _var("RETRY_AFTER_SECONDS", 1, ge=1)
    uai_status_log_state_machine_arn: str = _var("UAI_STATUS_LOG_STATE_MACHINE_ARN", "")
    key_cache_seconds: int = _var("KEY_CACHE_SECONDS", 300, ge=0)
    key_rotation_grace_seconds: int = _var("KEY_ROTATION_GRACE_SECONDS", 86_400, ge=0)
    admin_secret_arn: str = _var("ADMIN_SECRET_ARN", "")
    # UAI: a device token whose exp is further ahead than this is refused (auth.lifetimeTooLong).
    max_device_token_lifetime_seconds: int = _var("MAX_DEVICE_TOKEN_LIFETIME_SECONDS", 86_400, ge=60)
    # ThingSpace: how long a user name stays locked after MAX_FAILED_LOGINS failures in a row.
    thingspace_lockout_seconds: int = _var("THINGSPACE_LOCKOUT_SECONDS", 900, ge=1)
    # Webhook engine: the delivery queue, the SSRF allow-list (comma-separated hosts or CIDRs; empty = none,
    # the production default) and the per-request timeout (15 s in production; tests shorten it).
    webhook_queue_url: str = _var("WEBHOOK_QUEUE_URL", "")
    webhook_allow_hosts: str = _var("WEBHOOK_ALLOW_HOSTS", "")
    webhook_timeout_seconds: float = _var("WEBHOOK_TIMEOUT_SECONDS", 15.0, gt=0, le=60)
    # An endpoint whose attempts have all failed for this many days is disabled like one that answered 410 (0: never).
    webhook_disable_after_days: float = _var("WEBHOOK_DISABLE_AFTER_DAYS", 5.0, ge=0)
    # Where payloads too large for a DynamoDB item are kept (empty: such payloads are refused at enqueue).
    webhook_payload_bucket: str = _var("WEBHOOK_PAYLOAD_BUCKET", "")
    # ThingSpace: the device-action workflow, and which provisioning backend applies transitions ("table" keeps
    # device state in the table; "http" calls a carrier system at THINGSPACE_BACKEND_URL).
    thingspace_device_action_state_machine_arn: str = _var("THINGSPACE_DEVICE_ACTION_STATE_MACHINE_ARN", "")
    thingspace_backend: str = _var("THINGSPACE_BACKEND", "table", pattern="^(table|http)$")
    thingspace_backend_url: str = _var("THINGSPACE_BACKEND_URL", "")
    # Densify: the secret that signs API tokens (HS256), and the UTC hour of the nightly push of subscriptions.
    densify_token_secret_arn: str = _var("DENSIFY_TOKEN_SECRET_ARN", "")
    densify_push_hour_utc: int = _var("DENSIFY_PUSH_HOUR_UTC", 2, ge=0, le=23)

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> Self:
        """The settings a process with this environment runs with; SettingsInvalid names a missing or bad one."""
        values = {field.name: _parse(field, environment) for field in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in values.items() if value is not dataclasses.MISSING})


def variables() -> dict[str, Any]:
    """Every variable the core reads, with its default (dataclasses.MISSING when it is required)."""
    return {field.metadata["variable"]: field.default for field in dataclasses.fields(Settings)}


def _parse(field: dataclasses.Field[Any], environment: Mapping[str, str]) -> Any:
    name = field.metadata["variable"]
    raw = environment.get(name)
    if raw is None:
        if field.default is dataclasses.MISSING:
            raise SettingsInvalid(f"{name} is required")
        return dataclasses.MISSING
    kind = type(field.default) if field.default is not dataclasses.MISSING else str
    try:
        value = kind(raw.strip()) if kind is not str else raw
    except ValueError:
        raise SettingsInvalid(f"{name} must be {'a number' if kind is float else 'an integer'}, not {raw!r}") from None
    bounds = field.metadata
    if bounds["ge"] is not None and value < bounds["ge"]:
        raise SettingsInvalid(f"{name} must be at least {bounds['ge']}, not {raw!r}")
    if bounds["gt"] is not None and value <= bounds["gt"]:
        raise SettingsInvalid(f"{name} must be more than {bounds['gt']}, not {raw!r}")
    if bounds["le"] is not None and value > bounds["le"]:
        raise SettingsInvalid(f"{name} must be at most {bounds['le']}, not {raw!r}")
    if bounds["pattern"] is not None and not re.fullmatch(bounds["pattern"], value):
        raise SettingsInvalid(f"{name} must match {bounds['pattern']}, not {raw!r}")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environment(os.environ)


def reset_settings() -> None:
    """Forget the cached settings (tests and the local runtime change the environment between runs)."""
    get_settings.cache_clear()
