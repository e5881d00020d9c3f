"""pollgate's local runtime: template.yaml on moto, with the real handlers in process (no Docker, no AWS account).

Entry points: `pollgate run` (cli.py), the test harness `pollgate_local.stack.LocalStack`, and the Lambda Invoke
endpoint `pollgate_local.invoke_server.LambdaInvokeServer`.
"""

# moto's default account; every local ARN uses it and this region.
ACCOUNT = "123456789012"
REGION = "us-east-1"
