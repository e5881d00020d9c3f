"""Why the template's alarm blocks are written out rather than grouped with Fn::ForEach (issue 14, item 6).

Fn::ForEach needs the AWS::LanguageExtensions transform, and the local runtime reads the template through SAM CLI's
providers, which expand it only when asked (`language_extensions_enabled=True`). SAM CLI's expansion then also
"resolves" every `!Sub` it meets: `!Sub "${Table.Arn}/index/due"` becomes the plain text `${Table.Arn}/index/due`.
Every grant on part of a resource (the due index, the payload bucket's prefix) would stop naming it, and the local
IAM check would refuse calls that AWS allows (tried on this template: the webhook engine's stack test fails, and
passes with POLLGATE_NO_IAM=1). CloudFormation itself keeps the Sub.

So the repeated alarms are generated instead, from one list (tools/template_alarms.py, `make template`). Strict
xfail: once a SAM CLI upgrade expands without this loss, the test passes, the run fails, and the list could become
three Fn::ForEach loops in the template itself (the queue, workflow and API alarms)."""

from __future__ import annotations

import pytest
from samcli.lib.cfn_language_extensions.sam_integration import expand_language_extensions


@pytest.mark.xfail(strict=True, reason="SAM CLI's local AWS::LanguageExtensions expansion turns a Fn::Sub into text")
def test_sam_clis_language_extensions_keep_a_sub_of_another_resources_attribute() -> None:
    template = {
        "Transform": ["AWS::LanguageExtensions"],
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Reader": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "${Bucket.Arn}/*"}}
                        ]
                    }
                },
            },
            "Fn::ForEach::Topics": ["Name", ["A", "B"], {"Topic${Name}": {"Type": "AWS::SNS::Topic"}}],
        },
    }
    expanded = expand_language_extensions(template, enabled=True).expanded_template["Resources"]
    assert {"TopicA", "TopicB"} <= set(expanded)  # the loop itself expands
    statement = expanded["Reader"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Resource"] == {"Fn::Sub": "${Bucket.Arn}/*"}
