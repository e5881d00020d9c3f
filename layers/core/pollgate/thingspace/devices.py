"""The vendor's device list (`POST /api/m2m/v1/devices/actions/list`): each device's ids and state, as the
provisioning backend has them, a page at a time.

Pages go by device number (the order devices were added to the account, oldest first): an answer with
`hasMoreData` true also says `lastSeenDeviceId`, which the next request sends back (`largestDeviceIdSeen`, the
name in the vendor's SDK, is read alike). `deviceId` asks for one device; `currentState` keeps only devices in that
state (a page may then hold fewer than `maxNumberOfDevices` and still have more after it).
"""

from __future__ import annotations

from pollgate.thingspace.auth import Session, require_account
from pollgate.thingspace.inventory import ProvisioningBackend, configured_backend
from pollgate.thingspace.kinds import DeviceIdKind
from pollgate.thingspace.models import (
    CarrierInformation,
    DeviceId,
    DeviceList,
    DeviceListRequest,
    ListedDevice,
)


def list_devices(
    request: DeviceListRequest, session: Session, backend: ProvisioningBackend | None = None
) -> DeviceList:
    require_account(session, request.accountName)
    after = request.largestDeviceIdSeen if request.largestDeviceIdSeen is not None else request.lastSeenDeviceId
    wanted = (request.deviceId.kind.value, request.deviceId.id) if request.deviceId is not None else None
    page = (backend or configured_backend()).list_devices(
        request.accountName, wanted, after, request.maxNumberOfDevices
    )
    state = request.currentState.lower() if request.currentState else None
    listed = [
        ListedDevice(
            accountName=request.accountName,
            deviceIds=[DeviceId(id=value, kind=DeviceIdKind(kind)) for kind, value in sorted(device.ids.items())],
            carrierInformations=[CarrierInformation(state=device.state)],
            createdAt=device.created_at,
        )
        for device in page.devices
        if state is None or device.state == state
    ]
    last = page.devices[-1].number if page.has_more and page.devices else None
    return DeviceList(devices=listed, hasMoreData=page.has_more, lastSeenDeviceId=last)
