"""The webhook engine's queue as the tests drive it: what the delivery function does, run in the test."""

from __future__ import annotations

import boto3
from pollgate.webhooks import DeliveryMessage, handle_message


def deliver_queued(queue_url: str) -> int:
    """What the delivery function does with each queued message (then deleted); answers how many were handled."""
    sqs = boto3.client("sqs")
    handled = 0
    for _ in range(10):  # bounded: a test queue holds a handful of messages
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return handled
        for message in messages:
            handle_message(DeliveryMessage.from_json(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
    return handled
