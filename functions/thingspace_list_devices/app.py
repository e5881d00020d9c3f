"""POST /api/m2m/v1/devices/actions/list: the account's devices (or one, by id) with their ids and state, a page
at a time (hasMoreData, lastSeenDeviceId)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.api import documented_body
from pollgate.thingspace import http
from pollgate.thingspace.devices import list_devices
from pollgate.thingspace.http import ThingSpaceError
from pollgate.thingspace.inventory import BackendUnavailable
from pollgate.thingspace.models import DeviceList, DeviceListRequest

logger = Logger()
app = http.resolver()


@app.post(
    "/api/m2m/v1/devices/actions/list",
    openapi_extensions=documented_body(DeviceListRequest),
    responses=ThingSpaceError.responses(description="The devices, oldest first"),
)
def post_list() -> DeviceList:
    session = http.authenticate_m2m(app)
    request = http.parse_body(app, DeviceListRequest)
    try:
        return list_devices(request, session)
    except BackendUnavailable:
        raise ThingSpaceError.busy() from None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
