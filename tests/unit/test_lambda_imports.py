"""What a function may import locally is what it could import on Lambda: the layer's locked packages only."""

from __future__ import annotations

import json
import subprocess
import sys

from pollgate_local.lambda_imports import absent_on_lambda


def test_what_only_this_machine_has_is_absent_and_the_layers_packages_are_not() -> None:
    absent = absent_on_lambda()
    assert {"awscrt", "_awscrt", "OpenSSL", "moto", "samcli", "requests", "pytest"} <= absent
    layer = {"boto3", "botocore", "s3transfer", "urllib3", "pydantic", "pydantic_core", "jwt", "cryptography"}
    assert not absent & (layer | {"aws_lambda_powertools", "aws_xray_sdk", "pollgate", "pollgate_local"})
    assert not absent & set(sys.stdlib_module_names)


def test_with_the_finder_boto3_loads_as_on_lambda() -> None:
    code = (
        "import json, sys\n"
        "from pollgate_local.lambda_imports import hide_what_lambda_lacks\n"
        "hide_what_lambda_lacks()\n"
        "import boto3, botocore.compat\n"
        "boto3.client('dynamodb', region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x')\n"
        "try:\n"
        "    import moto\n"
        "    refused = None\n"
        "except ModuleNotFoundError as error:\n"
        "    refused = error.name\n"
        "print(json.dumps({'crt': botocore.compat.HAS_CRT, 'loaded': sorted(sys.modules), 'refused': refused}))\n"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, running the code above
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    seen = json.loads(done.stdout)
    assert seen["crt"] is False and seen["refused"] == "moto"
    assert not {"awscrt", "_awscrt", "OpenSSL", "urllib3.contrib.pyopenssl"} & set(seen["loaded"])
