"""Registers the Densify outcome handler with the webhook engine. The delivery function imports this module, so
every attempt of a subscription push is recorded on the subscription (lastTriggered, webHookStatus, 410)."""

from __future__ import annotations

from pollgate.densify.push import OWNER_KIND, record_outcome
from pollgate.webhooks import DeliveryOutcome, register_outcome_handler


def handle_outcome(outcome: DeliveryOutcome) -> None:
    record_outcome(outcome)


register_outcome_handler(OWNER_KIND, handle_outcome)
