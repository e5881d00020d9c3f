"""The SQS consumer behind WebhookDeliveryFunction: each record of a batch is one attempt, made concurrently.

The records of a batch run side by side on threads of the invocation's own pool, so one receiver that is slow up
to the timeout never holds up the other deliveries in its batch, nor another invocation's batch in the same
process (the local runtime runs several invocations in one process: a pool shared between them queued batches
behind each other past the function's timeout, which left their messages in flight for the queue's whole
visibility timeout).

A record fails (and SQS redelivers it) only when the engine itself could not finish: an AWS error, or an owner's
handler that raised after its attempt was recorded. A failed record is logged and made visible again within
seconds (ChangeMessageVisibility, backing off with its receive count): left alone it would wait out the queue's
visibility timeout (6 minutes), and a first attempt would wait for the retrier instead.

The partial batch answer (`{"batchItemFailures": [{"itemIdentifier": messageId}]}`, ReportBatchItemFailures) is
made here rather than by Powertools' batch utility: that utility loads asyncio, its parser's pydantic models and
every event data class, about a sixth of a cold start, for a loop over records.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypedDict

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from pollgate import aws, store
from pollgate.settings import get_settings
from pollgate.webhooks.engine import DeliveryMessage, handle_message

logger = Logger(child=True)

# The template's BatchSize: one thread per record of the largest batch.
MAX_BATCH_SIZE = 10
# A failed record is visible again after this many seconds, doubled per receive, at most the cap.
RETRY_FIRST_SECONDS = 2
RETRY_MAX_SECONDS = 60


class ItemFailure(TypedDict):
    itemIdentifier: str


class PartialItemFailureResponse(TypedDict):
    batchItemFailures: list[ItemFailure]


def retry_visibility(receive_count: int) -> int:
    """Seconds a failed record stays hidden before SQS hands it out again (its n-th receive failed)."""
    return min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS << max(0, min(receive_count - 1, 10)))


def handle_record(record: Mapping[str, Any]) -> None:
    try:
        handle_message(DeliveryMessage.from_json(record.get("body") or ""))
    except Exception:
        logger.exception(
            "webhook record failed; it is retried within seconds",
            extra={"messageId": record.get("messageId"), "receiveCount": _receive_count(record)},
        )
        _retry_soon(record)
        raise


def _receive_count(record: Mapping[str, Any]) -> int:
    try:
        return int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
    except (TypeError, ValueError):
        return 1


def _retry_soon(record: Mapping[str, Any]) -> None:
    queue_url = get_settings().webhook_queue_url
    receipt_handle = record.get("receiptHandle")
    if not queue_url or not receipt_handle:
        return
    try:
        aws.client("sqs").change_message_visibility(
            QueueUrl=queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=retry_visibility(_receive_count(record)),
        )
    except (ClientError, BotoCoreError) as error:  # then the queue's own visibility timeout applies
        logger.warning(
            "could not shorten a failed record's visibility",
            extra={"messageId": record.get("messageId"), "error": type(error).__name__},
        )


def process_delivery_batch(event: Mapping[str, Any], context: Any = None) -> PartialItemFailureResponse:
    """Make the attempts an SQS batch carries; answer the ids of records to redeliver (ReportBatchItemFailures)."""
    # boto3 creates clients unsafely across threads: make them here, once, before the batch fans out.
    store.connect()
    aws.client("sqs")
    records: list[Mapping[str, Any]] = list(event.get("Records") or [])
    if not records:
        return {"batchItemFailures": []}
    with ThreadPoolExecutor(
        max_workers=max(1, min(len(records), MAX_BATCH_SIZE)), thread_name_prefix="webhook"
    ) as threads:
        # Each in the invocation's context (Powertools Logger's thread-safe keys, the local runtime's caller
        # identity): a pool thread has none of its own.
        running = [threads.submit(contextvars.copy_context().run, handle_record, record) for record in records]
        failed = [record for record, done in zip(records, running, strict=True) if done.exception() is not None]
    # Every failed record is reported, even when all failed: the answer's shape stays the same and SQS retries each.
    return {"batchItemFailures": [{"itemIdentifier": str(record.get("messageId", ""))} for record in failed]}
