"""SQS consumer: make the webhook attempts a batch carries (POST, record, hand the outcome to its owner)."""

import importlib
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.webhooks import process_delivery_batch

logger = Logger()

# The owners' outcome handlers register on import. Guarded while those modules are being written: only their
# absence is tolerated, an error inside one still fails the cold start. Once both exist, make these plain imports.
for _owner in ("pollgate.densify.webhooks", "pollgate.thingspace.callbacks"):
    try:
        importlib.import_module(_owner)
    except ModuleNotFoundError as missing:
        if not missing.name or not _owner.startswith(missing.name):
            raise
        logger.warning("webhook owner module not present; its outcomes are recorded only", extra={"module": _owner})


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(process_delivery_batch(event, context))
