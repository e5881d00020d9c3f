"""The check: is this principal allowed this request? Evaluated by moto's own IAM policy evaluator.

Explicit Deny wins; otherwise some Allow must match each (action, resource) the request needs; a key the PolicySet
does not know is the account's admin and is not checked. Every decision that allowed a call is recorded against the
grants that allowed it (`UsageRecord`), so a run can list the grants no call used.

    authorizer = Authorizer(policies, on_denied=lambda denial: print(denial.log_line()))
    app = authorizer.wsgi(moto_app)                       # a moto server that refuses as AWS refuses
    authorizer.check_invoke(access_key_id, function_arn)  # the Lambda Invoke endpoint's own check
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from werkzeug.wrappers import Request, Response

from pollgate_local.iam.policies import Grant, PolicySet, Principal
from pollgate_local.iam.refusals import Denial, Refusal, refuse
from pollgate_local.iam.requests import Need, access_key_of, describe, needs_body

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
GrantKey = tuple[str, str, str, str, str]


class UsageRecord:
    """Which grants allowed which (action, resource), per principal; shared by the authorizers of one run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[GrantKey, Grant] = {}
        self._used: dict[GrantKey, set[Need]] = {}
        self._callers: set[str] = set()

    def register(self, grants: Iterable[Grant]) -> None:
        with self._lock:
            for grant in grants:
                self._grants.setdefault(grant.key, grant)

    def record(self, principal: str, grants: Iterable[Grant], need: Need) -> None:
        with self._lock:
            self._callers.add(principal)
            for grant in grants:
                self._used.setdefault(grant.key, set()).add(need)

    def called(self, principal: str) -> None:
        with self._lock:
            self._callers.add(principal)

    @property
    def callers(self) -> frozenset[str]:
        """The principals that made at least one checked call."""
        with self._lock:
            return frozenset(self._callers)

    def used(self) -> dict[Grant, frozenset[Need]]:
        """Each grant that allowed a call, and the (action, resource) pairs it allowed."""
        with self._lock:
            return {self._grants[key]: frozenset(needs) for key, needs in self._used.items()}

    def unused_grants(self, *, include_managed: bool = False) -> list[Grant]:
        """The template's grants no call used (AWS managed policies left out unless asked: SAM adds those)."""
        with self._lock:
            return sorted(
                (
                    grant
                    for key, grant in self._grants.items()
                    if key not in self._used and grant.effect == "Allow" and (include_managed or not grant.managed)
                ),
                key=lambda g: g.key,
            )


class Authorizer:
    """Checks requests against a PolicySet and refuses them the way AWS does."""

    def __init__(
        self,
        policies: PolicySet,
        on_denied: Callable[[Denial], None] | None = None,
        *,
        usage: UsageRecord | None = None,
    ) -> None:
        self.policies = policies
        self.usage = usage or UsageRecord()
        self._on_denied = on_denied
        self._statements: dict[Grant, IAMPolicyStatement] = {}
        for principal in policies.principals:
            grants = policies.grants(principal.logical_id)
            self.usage.register(grants)
            for grant in grants:
                self._statements[grant] = IAMPolicyStatement(json.loads(grant.statement))

    # ------------------------------------------------------------------------------------------ decisions
    def evaluate(self, principal: Principal, action: str, resource: str) -> Denial | None:
        """One (action, resource) for one principal: None when allowed (and recorded), else the Denial."""
        denial, allowed_by = self._decide(principal, action, resource)
        if denial is None:
            self.usage.record(principal.logical_id, allowed_by, (action, resource))
        return self._denied(denial)

    def check(
        self, access_key_id: str | None, method: str, url: str, headers: Mapping[str, str], body: bytes | str | None
    ) -> Denial | None:
        refusal = self.authorize(access_key_id, method, url, headers, body)
        return refusal.denial if refusal else None

    def check_invoke(self, access_key_id: str | None, function_arn: str) -> Denial | None:
        """lambda:InvokeFunction on `function_arn` (qualified when the call was), for the Invoke endpoint."""
        principal = self.policies.principal_for_access_key(access_key_id) if access_key_id else None
        return None if principal is None else self.evaluate(principal, "lambda:InvokeFunction", function_arn)

    def authorize(
        self, access_key_id: str | None, method: str, url: str, headers: Mapping[str, str], body: bytes | str | None
    ) -> Refusal | None:
        """None when the request may go on; else the answer AWS would give it."""
        principal = self.policies.principal_for_access_key(access_key_id) if access_key_id else None
        return None if principal is None else self.authorize_as(principal, method, url, headers, body)

    def authorize_as(
        self, principal: Principal, method: str, url: str, headers: Mapping[str, str], body: bytes | str | None
    ) -> Refusal | None:
        call = describe(method, url, headers, body, secret_arns=self.policies.secret_arns)
        self.usage.called(principal.logical_id)
        decided: list[tuple[Need, list[Grant]]] = []
        for action, resource in call.needs:
            denial, allowed_by = self._decide(principal, action, resource)
            if denial is not None:
                self._denied(denial)
                return refuse(call, denial, method)
            decided.append(((action, resource), allowed_by))
        for need, allowed_by in decided:  # recorded only once the whole request is allowed
            self.usage.record(principal.logical_id, allowed_by, need)
        return None

    def unused_grants(self, *, include_managed: bool = False) -> list[Grant]:
        return self.usage.unused_grants(include_managed=include_managed)

    def _decide(self, principal: Principal, action: str, resource: str) -> tuple[Denial | None, list[Grant]]:
        allowed_by: list[Grant] = []
        for grant in self.policies.grants(principal.logical_id):
            result = self._statements[grant].is_action_permitted(action, resource)
            if grant.effect == "Deny" and result == PermissionResult.DENIED:
                return Denial(principal, action, resource, explicit=True), []
            if grant.effect == "Allow" and result == PermissionResult.PERMITTED:
                allowed_by.append(grant)
        return (None if allowed_by else Denial(principal, action, resource)), allowed_by

    def _denied(self, denial: Denial | None) -> Denial | None:
        if denial is not None and self._on_denied is not None:
            self._on_denied(denial)
        return denial

    # ------------------------------------------------------------------------------------------ WSGI
    def wsgi(self, app: WsgiApp) -> WsgiApp:
        """`app` (moto's server) behind the check: refused requests never reach it."""

        def checked(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            request = Request(environ)
            headers = dict(request.headers)
            key = access_key_of(headers, request.url)
            principal = self.policies.principal_for_access_key(key) if key else None
            if principal is None:
                return app(environ, start_response)
            body = b""
            if needs_body(request.method, request.url, headers):
                body = request.get_data()
                # The body is read now; the app reads it again from the start.
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))
            refusal = self.authorize_as(principal, request.method, request.url, headers, body)
            if refusal is None:
                return app(environ, start_response)
            answer = Response(refusal.body, status=refusal.status, headers=refusal.headers)
            return answer(environ, start_response)

        return checked
