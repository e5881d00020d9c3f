"""The ThingSpace face's enumerations, apart from its pydantic models: the provisioning backend and the workflow's
worker use them and load no models."""

from __future__ import annotations

from enum import StrEnum


class DeviceIdKind(StrEnum):
    ESN = "esn"
    EID = "eid"
    ICCID = "iccid"
    IMEI = "imei"
    MDN = "mdn"
    MEID = "meid"
    MSISDN = "msisdn"


class DeviceAction(StrEnum):
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    SUSPEND = "suspend"
    RESTORE = "restore"
