"""The SQS consumer behind WebhookDeliveryFunction: each record of a batch is one attempt, made concurrently.

The records of a batch run side by side on threads of the invocation's own pool (Powertools' AsyncBatchProcessor,
each record handed to a thread), so one receiver that is slow up to the timeout never holds up the other
deliveries in its batch, nor another invocation's batch in the same process (the local runtime runs several
invocations in one process: a pool shared between them queued batches behind each other past the function's
timeout, which left their messages in flight for the queue's whole visibility timeout).

A record fails (and SQS redelivers it) only when the engine itself could not finish: an AWS error, or an owner's
handler that raised after its attempt was recorded. A failed record is logged and made visible again within
seconds (ChangeMessageVisibility, backing off with its receive count): left alone it would wait out the queue's
visibility timeout (6 minutes), and a first attempt would wait for the retrier instead.
"""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
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


def retry_visibility(receive_count: int) -> int:
    """Seconds a failed record stays hidden before SQS hands it out again (its n-th receive failed)."""
    return min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS << max(0, min(receive_count - 1, 10)))


def handle_record(record: SQSRecord) -> None:
    try:
        handle_message(DeliveryMessage.from_json(record.body))
    except Exception:
        logger.exception(
            "webhook record failed; it is retried within seconds",
            extra={"messageId": record.message_id, "receiveCount": _receive_count(record)},
        )
        _retry_soon(record)
        raise


def _receive_count(record: SQSRecord) -> int:
    try:
        return int(record.attributes.approximate_receive_count or 1)
    except (TypeError, ValueError):
        return 1


def _retry_soon(record: SQSRecord) -> None:
    queue_url = get_settings().webhook_queue_url
    if not queue_url or not record.receipt_handle:
        return
    try:
        aws.client("sqs").change_message_visibility(
            QueueUrl=queue_url,
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=retry_visibility(_receive_count(record)),
        )
    except (ClientError, BotoCoreError) as error:  # then the queue's own visibility timeout applies
        logger.warning(
            "could not shorten a failed record's visibility",
            extra={"messageId": record.message_id, "error": type(error).__name__},
        )


def process_delivery_batch(event: dict[str, Any], context: LambdaContext | None = None) -> PartialItemFailureResponse:
    """Make the attempts an SQS batch carries; answer the ids of records to redeliver (ReportBatchItemFailures)."""
    # boto3 creates clients unsafely across threads: make them here, once, before the batch fans out.
    store.connect()
    aws.client("sqs")
    records = event.get("Records") or []
    with ThreadPoolExecutor(
        max_workers=max(1, min(len(records), MAX_BATCH_SIZE)), thread_name_prefix="webhook"
    ) as threads:

        async def on_thread(record: SQSRecord) -> None:
            # In the invocation's context (Powertools Logger's thread-safe keys, the local runtime's caller
            # identity): a pool thread has none of its own.
            context_copy = contextvars.copy_context()
            await asyncio.get_running_loop().run_in_executor(threads, context_copy.run, handle_record, record)

        # Report every failed record, even when all failed: the answer's shape stays the same and SQS retries each.
        processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return async_process_partial_response(
            event=event, record_handler=on_thread, processor=processor, context=context
        )
