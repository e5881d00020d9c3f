"""X-Ray tracing with Powertools Tracer: subsegments for every AWS call and webhook POST a function makes.

Only the background functions (workflow tasks, the sweeper, the scheduler, webhook delivery) use it: loading the
X-Ray SDK adds about 130 ms to a cold start (measured, Python 3.13), which no client waits for there. The
synchronous API functions keep Lambda's own active tracing (Tracing: Active), which records each invocation.
"""

from __future__ import annotations

from aws_lambda_powertools import Tracer

tracer = Tracer()
