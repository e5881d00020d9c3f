"""Configuration, read from the environment once per process (the template sets every variable)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

# Step Functions stops an Express execution after five minutes, whatever its definition says.
EXPRESS_WORKFLOW_LIMIT_SECONDS = 300


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    table_name: str = Field(alias="TABLE_NAME")
    stage: str = Field(default="local", alias="STAGE")
    result_retention_seconds: int = Field(default=86_400, ge=86_400, alias="RESULT_RETENTION_SECONDS")
    # How long an expired polling ID keeps answering 410 before its record is deleted for good (then 404).
    tombstone_seconds: int = Field(default=7 * 86_400, ge=0, alias="TOMBSTONE_SECONDS")
    # Each workflow's deadline: its state machine's TimeoutSeconds, which template.yaml's WorkflowDeadlines mapping
    # gives both the state machine and these. Past it (and its start) the sweeper re-drives the operation; after
    # max_start_attempts it fails it. Unset: the longest any Express workflow runs, so none is re-driven early.
    uai_status_log_deadline_seconds: int = Field(
        default=EXPRESS_WORKFLOW_LIMIT_SECONDS,
        ge=1,
        le=EXPRESS_WORKFLOW_LIMIT_SECONDS,
        alias="UAI_STATUS_LOG_DEADLINE_SECONDS",
    )
    thingspace_device_action_deadline_seconds: int = Field(
        default=EXPRESS_WORKFLOW_LIMIT_SECONDS,
        ge=1,
        le=EXPRESS_WORKFLOW_LIMIT_SECONDS,
        alias="THINGSPACE_DEVICE_ACTION_DEADLINE_SECONDS",
    )
    webhook_recovery_deadline_seconds: int = Field(
        default=EXPRESS_WORKFLOW_LIMIT_SECONDS,
        ge=1,
        le=EXPRESS_WORKFLOW_LIMIT_SECONDS,
        alias="WEBHOOK_RECOVERY_DEADLINE_SECONDS",
    )
    webhook_recovery_state_machine_arn: str = Field(default="", alias="WEBHOOK_RECOVERY_STATE_MACHINE_ARN")
    max_start_attempts: int = Field(default=3, ge=1, alias="MAX_START_ATTEMPTS")
    retry_after_seconds: int = Field(default=1, ge=1, alias="RETRY_AFTER_SECONDS")
    uai_status_log_state_machine_arn: str = Field(default="", alias="UAI_STATUS_LOG_STATE_MACHINE_ARN")
    key_cache_seconds: int = Field(default=300, ge=0, alias="KEY_CACHE_SECONDS")
    key_rotation_grace_seconds: int = Field(default=86_400, ge=0, alias="KEY_ROTATION_GRACE_SECONDS")
    admin_secret_arn: str = Field(default="", alias="ADMIN_SECRET_ARN")
    # UAI: a device token whose exp is further ahead than this is refused (auth.lifetimeTooLong).
    max_device_token_lifetime_seconds: int = Field(default=86_400, ge=60, alias="MAX_DEVICE_TOKEN_LIFETIME_SECONDS")
    # ThingSpace: how long a user name stays locked after MAX_FAILED_LOGINS failures in a row.
    thingspace_lockout_seconds: int = Field(default=900, ge=1, alias="THINGSPACE_LOCKOUT_SECONDS")
    # Webhook engine: the delivery queue, the SSRF allow-list (comma-separated hosts or CIDRs; empty = none,
    # the production default) and the per-request timeout (15 s in production; tests shorten it).
    webhook_queue_url: str = Field(default="", alias="WEBHOOK_QUEUE_URL")
    webhook_allow_hosts: str = Field(default="", alias="WEBHOOK_ALLOW_HOSTS")
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, le=60, alias="WEBHOOK_TIMEOUT_SECONDS")
    # An endpoint whose attempts have all failed for this many days is disabled like one that answered 410 (0: never).
    webhook_disable_after_days: float = Field(default=5, ge=0, alias="WEBHOOK_DISABLE_AFTER_DAYS")
    # Where payloads too large for a DynamoDB item are kept (empty: such payloads are refused at enqueue).
    webhook_payload_bucket: str = Field(default="", alias="WEBHOOK_PAYLOAD_BUCKET")
    # ThingSpace: the device-action workflow, and which provisioning backend applies transitions ("table" keeps
    # device state in the table; "http" calls a carrier system at THINGSPACE_BACKEND_URL).
    thingspace_device_action_state_machine_arn: str = Field(
        default="", alias="THINGSPACE_DEVICE_ACTION_STATE_MACHINE_ARN"
    )
    thingspace_backend: str = Field(default="table", pattern="^(table|http)$", alias="THINGSPACE_BACKEND")
    thingspace_backend_url: str = Field(default="", alias="THINGSPACE_BACKEND_URL")
    # Densify: the secret that signs API tokens (HS256), and the UTC hour of the nightly push of subscriptions.
    densify_token_secret_arn: str = Field(default="", alias="DENSIFY_TOKEN_SECRET_ARN")
    densify_push_hour_utc: int = Field(default=2, ge=0, le=23, alias="DENSIFY_PUSH_HOUR_UTC")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))


def reset_settings() -> None:
    """Forget the cached settings (tests and the local runtime change the environment between runs)."""
    get_settings.cache_clear()
