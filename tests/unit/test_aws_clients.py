"""The bound the operation sweeper adds to each workflow's deadline (pollgate.aws.LONGEST_CALL_SECONDS) holds for
the clients as botocore really configures them: every attempt its timeouts, and the backoff before each retry."""

from __future__ import annotations

from pollgate import aws

# botocore's standard retry mode sleeps at most min(2**n, 20) seconds before retry n+1 (n from 0).
MAX_BACKOFF_SECONDS = 20


def test_the_longest_call_bound_covers_every_attempt_botocore_makes() -> None:
    config = aws.client("stepfunctions").meta.config
    attempts = config.retries["total_max_attempts"]
    assert config.retries["mode"] == "standard"
    worst = attempts * (config.connect_timeout + config.read_timeout) + sum(
        min(2**n, MAX_BACKOFF_SECONDS) for n in range(attempts - 1)
    )
    assert attempts >= 2  # a transient fault is retried at all
    assert worst <= aws.LONGEST_CALL_SECONDS
