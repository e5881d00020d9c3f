"""The variables the local runtime sets for itself, and which of them a function's sandbox gets too.

A module of its own, with no imports: the runtime, the one-off `pollgate local invoke`, the OpenAPI generator and the
tests all start from it, and none of them must import the runtime to get it.
"""

# The runtime's own environment, set before anything reads it. Functions see it too.
RUNTIME_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # The template turns X-Ray tracing on; there is no X-Ray daemon here.
    "POWERTOOLS_TRACE_DISABLED": "1",
    # No CloudWatch to read metrics here: without this every submit would print an EMF document to the console.
    "POWERTOOLS_METRICS_DISABLED": "1",
    # SAM CLI's emulator records telemetry events; nothing leaves this machine.
    "SAM_CLI_TELEMETRY": "0",
    # Webhook receivers in local development listen on loopback, which the SSRF guard refuses by default.
    "WEBHOOK_ALLOW_HOSTS": "127.0.0.1/8,::1",
    # The runtime itself (provisioning, event sources, demo data) calls the services as the account's admin:
    # credentials no role of the template has. Each function signs as its own role.
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


# What of the runtime's environment a sandbox gets besides the template's variables, Lambda's and its credentials.
SANDBOX_ENVIRONMENT = (
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "POWERTOOLS_TRACE_DISABLED",
    "POWERTOOLS_METRICS_DISABLED",
)
