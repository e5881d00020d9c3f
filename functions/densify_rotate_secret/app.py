"""POST /subscriptions[/{cloud|containers}]/{subscriptionRef}/secret/rotate: a new webhook signing secret, current
at once; the replaced one still signs (a second signature) for 24 h (ours, not the vendor's)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate import clock
from pollgate.densify import http
from pollgate.densify.models import RotatedSecret
from pollgate.densify.webhook_tools import rotate_secret

logger = Logger()
app = http.resolver()


def _rotate(platform: str | None, ref: str) -> RotatedSecret:
    caller = http.authenticate(app)
    rotated = rotate_secret(http.platform_of(platform), ref, caller)
    return RotatedSecret(
        subscriptionRef=rotated.ref,
        signingSecret=rotated.signing_secret,
        previousSecretValidUntil=clock.iso(rotated.previous_secret_until),
    )


@app.post("/subscriptions/<subscriptionRef>/secret/rotate", responses=http.ANSWER)
def rotate_cloud(subscriptionRef: str) -> RotatedSecret:
    return _rotate(None, subscriptionRef)


@app.post("/subscriptions/<platformType>/<subscriptionRef>/secret/rotate", responses=http.ANSWER)
def rotate_platform(platformType: str, subscriptionRef: str) -> RotatedSecret:
    return _rotate(platformType, subscriptionRef)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
