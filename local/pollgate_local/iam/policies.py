"""Each function's and state machine's role, from the template as the SAM translator expands it.

`PolicyTemplate.translate` runs the whole SAM transform (SAM CLI's own `sam validate` path, with the managed-policy
name -> ARN map bundled in samtranslator, so no AWS call): every `AWS::Serverless::Function` and
`AWS::Serverless::StateMachine` becomes an `AWS::IAM::Role` with inline policies (the template's `Policies:`,
policy templates such as `LambdaInvokePolicy` expanded) and managed policy ARNs (AWSLambdaBasicExecutionRole,
AWSXrayWriteOnlyAccess for `Tracing: Active`, AWSLambdaSQSQueueExecutionRole for SQS events). `resolve(symbols)`
turns the references in those policies into local physical names (the symbol table stack.py builds), reads the
managed policies' documents from moto's copy of them, and gives every principal its own credentials.

What is not evaluated: statements with a `Condition` are skipped (an Allow with a condition grants nothing here,
a Deny with one denies nothing), and so are permission boundaries, resource policies and SCPs.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from samcli.lib.intrinsic_resolver.intrinsic_property_resolver import IntrinsicResolver
from samcli.lib.intrinsic_resolver.intrinsics_symbol_table import IntrinsicsSymbolTable
from samcli.lib.translate.sam_template_validator import SamTemplateValidator
from samcli.yamlhelper import yaml_parse
from samtranslator.internal.managed_policies import get_bundled_managed_policy_map

from pollgate_local import ACCOUNT, REGION, adapters

# What a function or state machine is once translated, and the property naming its role.
_ROLE_PROPERTY = {"AWS::Lambda::Function": "Role", "AWS::StepFunctions::StateMachine": "RoleArn"}
_ACCESS_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class PolicyError(RuntimeError):
    """The template's permissions cannot be evaluated faithfully here; raised at start, never later."""


@dataclass(frozen=True)
class Principal:
    """A function or state machine as a caller of AWS: its role and the credentials it signs with."""

    logical_id: str
    role_arn: str
    access_key_id: str
    secret_access_key: str
    session_token: str

    @property
    def arn(self) -> str:
        """The caller as AWS names it in a refusal: the role, assumed in a session named after the principal."""
        role_name = self.role_arn.rsplit("/", 1)[-1]
        return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{self.logical_id}"

    def environment(self) -> dict[str, str]:
        """The variables that make boto3 sign as this principal (what Lambda puts in a function's sandbox)."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


@dataclass(frozen=True)
class Grant:
    """One action on one resource that one statement gives a principal: the unit the usage record counts.

    A statement listing several actions and resources is one grant per pair. `written` is the resource as the
    template wrote it (e.g. `{"Fn::GetAtt": ["Table", "Arn"]}`), the same whatever local names it resolved to.
    """

    principal: str
    policy: str  # the inline policy's name, or the managed policy's ARN
    effect: str  # Allow | Deny
    action: str
    resource: str
    written: str
    managed: bool
    statement: str  # the grant as one IAM statement (JSON), as moto's evaluator reads it

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """What stays the same across symbol tables (tests give resources other names than the runtime does)."""
        return self.principal, self.policy, self.effect, self.action, self.written

    def describe(self) -> str:
        return f"{self.principal}: {self.effect} {self.action} on {self.resource} ({self.policy})"


@dataclass(frozen=True)
class _Policy:
    name: str
    document: Any  # as translated: references not yet resolved
    managed: bool


class PolicyTemplate:
    """The roles of a translated template, references unresolved: translate once, resolve per set of local names."""

    def __init__(self, translated: dict[str, Any], parameters: Mapping[str, Any]) -> None:
        self._translated = translated
        self._parameters = dict(parameters)
        self._roles = dict(_roles_of(translated))

    @classmethod
    def translate(cls, template_dict: Mapping[str, Any], parameter_values: Mapping[str, Any]) -> PolicyTemplate:
        """The SAM transform of `template_dict` (as SamLocalStackProvider gives it), as CloudFormation would run it."""
        validator = SamTemplateValidator(
            copy.deepcopy(dict(template_dict)),
            _BundledManagedPolicies(),
            region=REGION,
            parameter_overrides=dict(parameter_values),
        )
        translated: dict[str, Any] = yaml_parse(validator.get_translated_template_if_valid())
        parameters = adapters.sam_parameter_values(template_dict, parameter_values)
        return cls(translated, parameters)

    @property
    def translated(self) -> dict[str, Any]:
        """The whole CloudFormation template SAM produced (read it, do not change it)."""
        return self._translated

    def resolve(self, symbols: Mapping[str, Mapping[str, Any]]) -> PolicySet:
        """Every principal with its grants, references resolved to `symbols` ({logical id: {"Ref"|attr: value}})."""
        table = IntrinsicsSymbolTable(logical_id_translator={**self._parameters, **symbols}, template=self._translated)
        resolver = IntrinsicResolver(template=self._translated, symbol_resolver=table)

        def resolved(value: Any, where: str) -> Any:
            return resolver.intrinsic_property_resolver(
                copy.deepcopy(value), ignore_errors=False, parent_function=where
            )

        principals: dict[str, Principal] = {}
        grants: dict[str, tuple[Grant, ...]] = {}
        documents: dict[str, tuple[tuple[str, Any], ...]] = {}
        problems: list[str] = []
        known = set(symbols) | set(self._parameters)
        unnamed: dict[str, list[str]] = {}
        for logical_id, (role, policies) in self._roles.items():
            # SAM CLI's resolver invents a Lambda ARN for a GetAtt it has no symbol for: refuse that instead.
            for name in {name for policy in policies for name in _references(policy.document)} - known:
                unnamed.setdefault(name, []).append(logical_id)
            role_arn = str((symbols.get(role) or {}).get("Arn") or f"arn:aws:iam::{ACCOUNT}:role/{role}")
            principals[logical_id] = _new_principal(logical_id, role_arn)
            found: list[Grant] = []
            docs: list[tuple[str, Any]] = []
            for policy in policies:
                document = (
                    _managed_document(resolved(policy.document, role), problems) if policy.managed else policy.document
                )
                if document is None:
                    continue
                name = str(resolved(policy.name, role)) if policy.managed else policy.name
                found.extend(_grants(logical_id, name, document, policy.managed, resolved, problems))
                docs.append((name, resolved(document, role)))
            grants[logical_id] = tuple(found)
            documents[logical_id] = tuple(docs)
        problems += [
            f"{name} has no local symbol (policies of {', '.join(sorted(users))})" for name, users in unnamed.items()
        ]
        if problems:
            raise PolicyError("the local IAM check cannot evaluate: " + "; ".join(sorted(set(problems))))
        secret_arns = tuple(
            str(value["Ref"])
            for logical_id, value in symbols.items()
            if _resource_type(self._translated, logical_id) == "AWS::SecretsManager::Secret"
            and isinstance(value, Mapping)
            and "Ref" in value
        )
        return PolicySet(principals, grants, documents, secret_arns)


class PolicySet:
    """Every principal of the stack, its credentials and its grants; JSON round-trips to another process."""

    def __init__(
        self,
        principals: Mapping[str, Principal],
        grants: Mapping[str, Sequence[Grant]],
        documents: Mapping[str, Sequence[tuple[str, Any]]],
        secret_arns: Sequence[str] = (),
    ) -> None:
        self._principals = dict(principals)
        self._grants = {logical_id: tuple(found) for logical_id, found in grants.items()}
        self._documents = {logical_id: tuple(docs) for logical_id, docs in documents.items()}
        self.secret_arns = tuple(secret_arns)
        self._by_key = {p.access_key_id: p for p in self._principals.values()}
        self._by_role: dict[str, Principal] = {}
        for principal in self._principals.values():
            self._by_role.setdefault(principal.role_arn, principal)

    @classmethod
    def from_template(
        cls,
        template_dict: Mapping[str, Any],
        parameter_values: Mapping[str, Any],
        symbols: Mapping[str, Mapping[str, Any]],
    ) -> PolicySet:
        return PolicyTemplate.translate(template_dict, parameter_values).resolve(symbols)

    @property
    def principals(self) -> tuple[Principal, ...]:
        return tuple(self._principals.values())

    def principal(self, logical_id: str) -> Principal:
        """A function or state machine by logical id."""
        try:
            return self._principals[logical_id]
        except KeyError:
            raise KeyError(f"{logical_id} is not a function or state machine of the template") from None

    def principal_for_role(self, role_arn: str) -> Principal | None:
        return self._by_role.get(role_arn)

    def principal_for_access_key(self, key_id: str) -> Principal | None:
        return self._by_key.get(key_id)

    def grants(self, logical_id: str) -> tuple[Grant, ...]:
        return self._grants.get(logical_id, ())

    def documents(self, logical_id: str) -> tuple[tuple[str, Any], ...]:
        """(policy name or managed ARN, resolved document) for each policy of the principal's role."""
        return self._documents.get(logical_id, ())

    def to_json(self) -> str:
        return json.dumps(
            {
                "principals": [asdict(p) for p in self._principals.values()],
                "grants": {logical_id: [asdict(g) for g in found] for logical_id, found in self._grants.items()},
                "documents": {logical_id: [list(doc) for doc in docs] for logical_id, docs in self._documents.items()},
                "secret_arns": list(self.secret_arns),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> PolicySet:
        data = json.loads(text)
        principals = {p["logical_id"]: Principal(**p) for p in data["principals"]}
        grants = {logical_id: [Grant(**g) for g in found] for logical_id, found in data["grants"].items()}
        documents = {logical_id: [(name, doc) for name, doc in docs] for logical_id, docs in data["documents"].items()}
        return cls(principals, grants, documents, data["secret_arns"])


class _BundledManagedPolicies:
    """The ManagedPolicyLoader SAM CLI expects, answering from samtranslator's bundled map instead of IAM."""

    def load(self) -> dict[str, str]:
        return dict(get_bundled_managed_policy_map("aws") or {})


def _roles_of(translated: dict[str, Any]) -> Iterator[tuple[str, tuple[str, tuple[_Policy, ...]]]]:
    """(principal logical id, (role logical id, its policies)) for every function and state machine."""
    resources: dict[str, Any] = translated.get("Resources") or {}
    extra: dict[str, list[_Policy]] = {}  # AWS::IAM::Policy / ManagedPolicy resources attached by Roles: [!Ref R]
    for logical_id, resource in resources.items():
        kind, props = resource.get("Type"), resource.get("Properties") or {}
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for role in props.get("Roles") or []:
                if isinstance(role, dict) and "Ref" in role:
                    extra.setdefault(role["Ref"], []).append(
                        _Policy(str(props.get("PolicyName") or logical_id), props.get("PolicyDocument"), False)
                    )
    for logical_id, resource in resources.items():
        role_property = _ROLE_PROPERTY.get(str(resource.get("Type")))
        if role_property is None:
            continue
        reference = (resource.get("Properties") or {}).get(role_property)
        role = _role_logical_id(reference)
        if role is None or (resources.get(role) or {}).get("Type") != "AWS::IAM::Role":
            raise PolicyError(
                f"{logical_id}: {role_property} {reference!r} is not a role of the template, so its "
                f"permissions are unknown locally"
            )
        props = resources[role].get("Properties") or {}
        policies = [
            _Policy(str(p.get("PolicyName")), p.get("PolicyDocument"), False) for p in props.get("Policies") or []
        ]
        for arn in props.get("ManagedPolicyArns") or []:
            customer = resources.get(arn["Ref"]) if isinstance(arn, dict) and "Ref" in arn else None
            if customer is not None and customer.get("Type") == "AWS::IAM::ManagedPolicy":
                policies.append(
                    _Policy(str(arn["Ref"]), (customer.get("Properties") or {}).get("PolicyDocument"), False)
                )
            else:
                policies.append(_Policy(arn, arn, True))
        yield logical_id, (role, tuple(policies + extra.get(role, [])))


def _references(value: Any) -> set[str]:
    """The logical ids and parameters a (still unresolved) value refers to: Ref, Fn::GetAtt, Fn::Sub variables."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner.split(".")[0] if isinstance(inner, str) else inner[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text, local = (inner, {}) if isinstance(inner, str) else (inner[0], inner[1])
                found |= {name.split(".")[0] for name in _SUB_VARIABLE.findall(str(text))} - set(local)
                found |= _references(local)
            else:
                found |= _references(inner)
    return {name for name in found if not name.startswith("AWS::")}


def _role_logical_id(reference: Any) -> str | None:
    if isinstance(reference, dict) and "Fn::GetAtt" in reference:
        target = reference["Fn::GetAtt"]
        parts = target.split(".") if isinstance(target, str) else list(target)
        if len(parts) == 2 and parts[1] == "Arn":
            return str(parts[0])
    return None


def _resource_type(translated: dict[str, Any], logical_id: str) -> str | None:
    resource = (translated.get("Resources") or {}).get(logical_id)
    return str(resource.get("Type")) if isinstance(resource, dict) else None


@cache
def _moto_managed_policies() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data  # ~5 MB of JSON: read only when needed

    return json.loads(aws_managed_policies_data)  # type: ignore[no-any-return]


def _managed_document(arn: Any, problems: list[str]) -> Any:
    """An AWS managed policy's document (moto ships them), by ARN."""
    if not isinstance(arn, str) or not arn.startswith("arn:aws:iam::aws:policy/"):
        problems.append(f"managed policy {arn!r} (only AWS managed policies and the template's own are known)")
        return None
    name = arn.rsplit("/", 1)[-1]
    policy = _moto_managed_policies().get(name)
    if policy is None:
        problems.append(f"managed policy {arn} (not in moto's copy of the AWS managed policies)")
        return None
    return policy["Document"]


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _grants(
    principal: str, policy: str, document: Any, managed: bool, resolved: Any, problems: list[str]
) -> Iterator[Grant]:
    """One Grant per (action, resource) of each statement; NotAction / NotResource statements stay whole."""
    if not isinstance(document, dict):
        problems.append(f"{principal} {policy}: a policy document that is not an object")
        return
    for statement in _listed(document.get("Statement") or []):
        if not isinstance(statement, dict) or "Condition" in statement:
            continue
        effect = str(statement.get("Effect"))
        if "Action" in statement and "Resource" in statement:
            for action in _listed(statement["Action"]):
                for written in _listed(statement["Resource"]):
                    resource = resolved(written, principal)
                    if not isinstance(resource, str) or not (resource == "*" or resource.startswith("arn:")):
                        problems.append(f"{principal} {policy}: resource {written!r} resolves to {resource!r}")
                        continue
                    one = {"Effect": effect, "Action": str(action), "Resource": resource}
                    yield Grant(
                        principal,
                        policy,
                        effect,
                        str(action),
                        resource,
                        json.dumps(written, sort_keys=True),
                        managed,
                        json.dumps(one),
                    )
        else:
            whole = resolved(statement, principal)
            actions = whole.get("Action") or {"NotAction": whole.get("NotAction")}
            resources = whole.get("Resource") or {"NotResource": whole.get("NotResource")}
            yield Grant(
                principal,
                policy,
                effect,
                json.dumps(actions),
                json.dumps(resources),
                json.dumps(statement.get("Resource") or statement.get("NotResource"), sort_keys=True),
                managed,
                json.dumps(whole),
            )


def _new_principal(logical_id: str, role_arn: str) -> Principal:
    """Fresh credentials, as STS gives an assumed role: an ASIA key id, a secret and a session token."""
    key_id = "ASIA" + "".join(secrets.choice(_ACCESS_KEY_ALPHABET) for _ in range(16))
    return Principal(
        logical_id=logical_id,
        role_arn=role_arn,
        access_key_id=key_id,
        secret_access_key=secrets.token_urlsafe(30)[:40],
        session_token=secrets.token_urlsafe(96),
    )
