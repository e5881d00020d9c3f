"""Who may call the face: users with scrypt password hashes log in for a 60-minute HS256 token.

- Users are created by the operator (`python -m pollgate.densify.operator add-user`), never over the API.
- Passwords are hashed with scrypt (memory-hard, standard library); the hash records its own parameters.
- Failed logins slow down (pollgate/login_failures.py, shared with ThingSpace): after FREE_FAILURES failures in a
  row a user name is locked for a window that doubles with every further failure, up to MAX_LOCK_SECONDS. Unknown
  user names are counted the same way and cost the same scrypt work, so answers and timings do not tell which
  names exist.
- The token-signing key is the stack's secret (DENSIFY_TOKEN_SECRET_ARN), read through Powertools and cached.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from pollgate import clock
from pollgate.credentials import bearer_token
from pollgate.densify import items
from pollgate.densify.errors import unauthorized
from pollgate.errors import ServiceFault
from pollgate.login_failures import FailedLogins, LoginFailures, lock_seconds
from pollgate.passwords import decoy_hash, hash_secret, verify_secret
from pollgate.settings import get_settings
from pollgate.store import Table

TOKEN_SECONDS = 60 * 60
TOKEN_ISSUER = "pollgate-densify"  # noqa: S105 - the iss claim, not a secret
SECRET_CACHE_SECONDS = 300


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    admin: bool


class UserStore:
    """Users and their login failures (items.user, items.login_failures)."""

    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()
        self.failed_logins = FailedLogins(items.login_failures, lock_seconds, self.table)

    def add(self, name: str, password: str, *, admin: bool = False, replace: bool = False) -> User:
        user = User(name, hash_secret(password), admin)
        attributes = {"userName": name, "passwordHash": user.password_hash, "admin": admin, "createdAt": clock.iso()}
        if not self.table.put(items.user(name), attributes, condition=None if replace else "attribute_not_exists(pk)"):
            raise ValueError(f"user {name} already exists (use --replace to set a new password)")
        self.clear_failures(name)
        return user

    def get(self, name: str) -> User | None:
        item = self.table.get(items.user(name), consistent=True)
        if item is None:
            return None
        return User(item["userName"], item["passwordHash"], bool(item.get("admin", False)))

    def failures(self, name: str) -> LoginFailures:
        return self.failed_logins.of(name)

    def record_failure(self, name: str, now: float) -> LoginFailures:
        return self.failed_logins.record(name, now)

    def clear_failures(self, name: str) -> None:
        self.failed_logins.clear(name)


@dataclass(frozen=True)
class Caller:
    """The authenticated user of a request."""

    user: str
    admin: bool


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_ms: int


def log_in(user_name: str, password: str, store: UserStore | None = None) -> IssuedToken:
    """Check the password and issue a token; every failure is the same 401, locked or not."""
    store = store or UserStore()
    now = clock.epoch()
    if store.failures(user_name).locked_until > now:
        raise unauthorized()
    user = store.get(user_name)
    valid = verify_secret(password, user.password_hash if user else decoy_hash())
    if user is None or not valid:
        store.record_failure(user_name, now)
        raise unauthorized()
    if store.failures(user_name).count:
        store.clear_failures(user_name)
    return issue_token(Caller(user.name, user.admin), now)


def issue_token(caller: Caller, now: float) -> IssuedToken:
    expires = int(now) + TOKEN_SECONDS
    claims = {"sub": caller.user, "adm": caller.admin, "iss": TOKEN_ISSUER, "iat": int(now), "exp": expires}
    return IssuedToken(jwt.encode(claims, signing_key(), algorithm="HS256"), expires * 1000)


def verify_token(authorization: str | None) -> Caller:
    """`Authorization: Bearer <token>` issued by /authorize and not expired; anything else is 401."""
    token = bearer_token(authorization)
    if token is None:
        raise unauthorized()
    try:
        claims = jwt.decode(
            token,
            signing_key(),
            algorithms=["HS256"],
            issuer=TOKEN_ISSUER,
            options={"require": ["exp", "sub"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError:
        raise unauthorized() from None
    expires, user = claims.get("exp"), claims.get("sub")
    if not isinstance(expires, int) or expires <= clock.epoch() or not isinstance(user, str) or not user:
        raise unauthorized()
    return Caller(user, claims.get("adm") is True)


def signing_key() -> bytes:
    from aws_lambda_powertools.utilities import parameters  # only functions that sign or verify pay for this

    arn = get_settings().densify_token_secret_arn
    if not arn:
        raise ServiceFault("The token-signing secret is not configured.")
    value = parameters.get_secret(arn, max_age=SECRET_CACHE_SECONDS)
    key = value.encode() if isinstance(value, str) else bytes(value)
    if len(key) < 32:  # HS256 wants at least 256 bits of key
        raise ServiceFault("The token-signing secret is too short.")
    return key
