"""IAM enforced locally: each function and state machine calls AWS as its own role, as the template grants it.

- `policies`: the template translated by the SAM translator (as `sam validate` and CloudFormation expand it: SAM's
  managed policies, policy templates such as LambdaInvokePolicy, event-source permissions), each role's policies
  resolved to the local physical names, and one set of credentials per principal (`PolicySet`).
- `requests`: a raw AWS API request (method, URL, headers, body) -> the IAM actions and resources AWS checks.
- `refusals`: the answer AWS gives a refused request, in the protocol of the request.
- `authorizer`: the check itself (moto's own policy evaluator), the WSGI middleware for a moto server, and the
  record of which grants were used (`Authorizer`).

Credentials not in the PolicySet (the runtime itself, tests, `aws --endpoint-url`) are the account's admin.
"""

from pollgate_local.iam.authorizer import Authorizer, UsageRecord
from pollgate_local.iam.policies import Grant, PolicyError, PolicySet, PolicyTemplate, Principal
from pollgate_local.iam.refusals import Denial, Refusal
from pollgate_local.iam.requests import Call, describe

__all__ = [
    "Authorizer",
    "Call",
    "Denial",
    "Grant",
    "PolicyError",
    "PolicySet",
    "PolicyTemplate",
    "Principal",
    "Refusal",
    "UsageRecord",
    "describe",
]
