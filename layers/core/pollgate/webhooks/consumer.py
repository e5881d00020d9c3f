"""The SQS consumer behind WebhookDeliveryFunction: each record of a batch is one attempt, made concurrently.

The records of a batch run side by side on threads (Powertools' AsyncBatchProcessor, each record handed to a
thread), so one receiver that is slow up to the timeout never holds up the other deliveries in its batch.
A record fails (and SQS redelivers it) only when the engine itself could not finish: an AWS error, or an
owner's handler that raised after its attempt was recorded.
"""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollgate import aws, store
from pollgate.webhooks.engine import DeliveryMessage, handle_message

# The template's BatchSize: one thread per record of the largest batch.
MAX_BATCH_SIZE = 10


@cache
def _threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=MAX_BATCH_SIZE, thread_name_prefix="webhook")


def handle_record(record: SQSRecord) -> None:
    handle_message(DeliveryMessage.from_json(record.body))


async def _handle_record_on_thread(record: SQSRecord) -> None:
    # In the invocation's context (Powertools Logger's thread-safe keys, the local runtime's caller identity):
    # a pool thread has none of its own.
    context = contextvars.copy_context()
    await asyncio.get_running_loop().run_in_executor(_threads(), context.run, handle_record, record)


def process_delivery_batch(event: dict[str, Any], context: LambdaContext | None = None) -> PartialItemFailureResponse:
    """Make the attempts an SQS batch carries; answer the ids of records to redeliver (ReportBatchItemFailures)."""
    # boto3 creates clients unsafely across threads: make them here, once, before the batch fans out.
    store.connect()
    aws.client("sqs")
    # Report every failed record, even when all failed: the answer's shape stays the same and SQS retries each.
    processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return async_process_partial_response(event=event, record_handler=_handle_record_on_thread,
                                          processor=processor, context=context)
