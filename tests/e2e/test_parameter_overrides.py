"""`pollgate run --parameter-overrides`: the template's parameters set as `sam deploy` sets them, and refused as
CloudFormation refuses them, before anything starts."""

from __future__ import annotations

import pytest
from pollgate_local.process import RuntimeProcess

pytestmark = pytest.mark.e2e


def test_an_override_sets_what_the_template_derives_from_it() -> None:
    with RuntimeProcess("--no-demo", "--parameter-overrides", "WebhookMaxConcurrency=25 LogLevel=ERROR") as runtime:
        line = runtime.wait_for("-> WebhookDeliveryFunction")
    assert line.endswith("(batch 10, concurrency 25)"), line


@pytest.mark.parametrize(
    ("override", "refusal"),
    [
        ("WebhookMaxConcurrency=1", "Parameter 'WebhookMaxConcurrency' must be a number not less than 2"),
        ("WebhookMaxConcurency=30", "Parameters: [WebhookMaxConcurency] do not exist in the template"),
    ],
)
def test_an_override_cloudformation_refuses_stops_the_start(override: str, refusal: str) -> None:
    runtime = RuntimeProcess("--no-demo", "--parameter-overrides", override)
    with pytest.raises(RuntimeError, match="pollgate run ended") as ended:
        runtime.start()
    runtime.stop()
    assert f"pollgate: {refusal}" in str(ended.value)
    assert not any("ready" in line for line in runtime.lines)
