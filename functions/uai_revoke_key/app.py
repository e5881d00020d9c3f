"""DELETE /flexnet/operations/api/updates/update-authorization-key/{keyId}: revoke a key at once (ours)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.uai import http, messages
from pollgate.uai.keys import KeyStore
from pollgate.uai.models import Outcome

logger = Logger()
app = http.resolver()


@app.delete("/flexnet/operations/api/updates/update-authorization-key/<keyId>", responses=http.OUTCOME)
def delete_key(keyId: str) -> Outcome:
    http.authenticate_admin(app)
    KeyStore().revoke(keyId)
    logger.warning("device public key revoked", extra={"keyId": keyId})
    return Outcome(**messages.KEY_REVOKED_NOW.render(keyId))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
