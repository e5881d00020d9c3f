"""PUT /flexnet/operations/api/updates/update-authorization-key: the producer uploads a device-token public key."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.uai import http, messages
from pollgate.uai.keys import KeyStore
from pollgate.uai.models import Outcome, PublicKeyUpload

logger = Logger()
app = http.resolver()


@app.put("/flexnet/operations/api/updates/update-authorization-key", responses=http.OUTCOME)
def put_key(upload: Annotated[PublicKeyUpload, Body()]) -> Outcome:
    http.authenticate_admin(app)
    key = KeyStore().upload(upload.publicKey, revoke_others=upload.revokeOthers)
    logger.info("device public key uploaded", extra={"keyId": key.key_id, "revokeOthers": upload.revokeOthers})
    return Outcome(**messages.KEY_UPLOADED.render(key.key_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
