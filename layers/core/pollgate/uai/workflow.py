"""The status-log workflow as the sweeper knows it: its kind, state machine, deadline and failure answer.

Apart from pollgate.uai.status_log so that the operation sweeper loads no UAI models (nor pydantic) at its cold
start.
"""

from __future__ import annotations

from pollgate.operations import Workflow
from pollgate.uai import messages

KIND = "uai.statusLog"

WORKFLOW = Workflow(
    kind=KIND,
    state_machine_arn=lambda settings: settings.uai_status_log_state_machine_arn,
    deadline_seconds=lambda settings: settings.uai_status_log_deadline_seconds,
    failure_result=lambda reason: messages.STATUS_FAILED.render(reason),
)
