"""template.yaml's repeated alarms are the ones tools/template_alarms.py writes from its list (`make template`), on
resources that exist and are of the kind each alarm watches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from samcli.yamlhelper import yaml_parse

from tools import template_alarms
from tools.template_alarms import ALARMS, Alarm, committed_block, logical_id, render, rewritten, watched

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "template.yaml").read_text()
RESOURCES: dict[str, Any] = yaml_parse(TEXT)["Resources"]
KIND_OF_RESOURCE = {
    "queue": "AWS::SQS::Queue",
    "workflow": "AWS::Serverless::StateMachine",
    "api": "AWS::Serverless::HttpApi",
}


def test_the_committed_block_is_the_generated_one() -> None:
    assert committed_block(TEXT) == render(), "template.yaml's generated alarms drifted: run make template"
    assert rewritten(TEXT) == TEXT


@pytest.mark.parametrize("alarm", ALARMS, ids=logical_id)
def test_each_alarm_is_in_the_template_and_watches_a_resource_of_its_kind(alarm: Alarm) -> None:
    assert RESOURCES[logical_id(alarm)]["Type"] == "AWS::CloudWatch::Alarm"
    assert RESOURCES[watched(alarm)]["Type"] == KIND_OF_RESOURCE[alarm.kind]
    properties = RESOURCES[logical_id(alarm)]["Properties"]
    assert properties["AlarmName"] == {"Fn::Sub": f"pollgate-${{Stage}}-{alarm.name}"}
    assert properties["AlarmActions"] == properties["OKActions"] == [{"Ref": "AlarmTopic"}]


def test_alarm_names_are_unique() -> None:
    names = [alarm.name for alarm in ALARMS]
    assert len(set(names)) == len(names)


def test_a_new_resource_in_the_list_is_a_new_alarm_in_the_block() -> None:
    extra = Alarm("api", "Example", "example-api-5xx-rate", "More than 1% of Example API requests answered 5xx.")
    block = render([*ALARMS, extra])
    assert "  ExampleApi5xxAlarm:\n" in block and "Value: !Ref ExampleApi}" in block
    assert yaml_parse(block.replace(template_alarms.BEGIN, "").replace(template_alarms.END, ""))["ExampleApi5xxAlarm"][
        "Properties"
    ]["AlarmName"] == {"Fn::Sub": "pollgate-${Stage}-example-api-5xx-rate"}


def test_check_says_when_the_template_drifted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "template.yaml"
    copy.write_text(TEXT.replace("webhook-dead-letters", "renamed-by-hand", 1))
    monkeypatch.setattr(template_alarms, "TEMPLATE", copy)
    assert template_alarms.main(["--check"]) == 1
    assert "make template" in capsys.readouterr().out
    assert template_alarms.main([]) == 0
    assert copy.read_text() == TEXT
