"""What the background functions must know of every face, filled here, explicitly (no module registers itself
when imported): the workflow of each kind of operation, and the handler of each webhook owner kind's outcomes.

A function calls what it needs once, at init: the operation sweeper `register_workflows()`, the webhook delivery
function `register_outcome_handlers()`. A new kind of operation or of webhook owner is added here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pollgate.densify import items as densify_items
from pollgate.thingspace import items as thingspace_items

if TYPE_CHECKING:
    from pollgate.webhooks import DeliveryOutcome

# Each function imports what only it needs: the sweeper never loads the webhook engine, the delivery function no
# face's workflow.


def register_workflows() -> None:
    """Every kind of operation the sweeper may re-drive or fail."""
    from pollgate.operations import register_workflow
    from pollgate.thingspace.workflow import WORKFLOW as DEVICE_ACTION
    from pollgate.uai.workflow import WORKFLOW as STATUS_LOG
    from pollgate.webhooks.recovery import WORKFLOW as WEBHOOK_RECOVERY

    for workflow in (STATUS_LOG, DEVICE_ACTION, WEBHOOK_RECOVERY):
        register_workflow(workflow)


def register_outcome_handlers() -> None:
    """Every webhook owner kind's outcome handler. Each face's code is imported at its first outcome, not here:
    the delivery function's cold start loads neither face."""
    from pollgate.webhooks import register_outcome_handler, register_secret_resolver

    register_outcome_handler(densify_items.PUSH_OWNER_KIND, _densify_push_outcome)
    register_outcome_handler(thingspace_items.CALLBACK_OWNER_KIND, _carrier_service_outcome)
    # And where each owner kind's signing secrets are now (a rotated secret signs every attempt from then on).
    register_secret_resolver(densify_items.PUSH_OWNER_KIND, _densify_push_secrets)
    register_secret_resolver(thingspace_items.CALLBACK_OWNER_KIND, _carrier_service_secrets)


def _densify_push_outcome(outcome: DeliveryOutcome) -> None:
    """Every attempt of a subscription push is recorded on the subscription (lastTriggered, webHookStatus, 410)."""
    from pollgate.densify.push import record_outcome

    record_outcome(outcome)


def _carrier_service_outcome(outcome: DeliveryOutcome) -> None:
    """Every attempt of a CarrierService callback is recorded on its device result; a 410 deregisters the listener."""
    from pollgate.thingspace.carrier_service import handle_delivery_outcome

    handle_delivery_outcome(outcome)


def _densify_push_secrets(tenant: str, owner_id: str) -> Sequence[str] | None:
    from pollgate.densify.webhook_tools import push_signing_secrets

    return push_signing_secrets(tenant, owner_id)


def _carrier_service_secrets(tenant: str, owner_id: str) -> Sequence[str] | None:
    from pollgate.thingspace.carrier_service import listener_signing_secrets

    return listener_signing_secrets(tenant, owner_id)
