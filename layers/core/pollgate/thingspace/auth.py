"""Who may call the face: OAuth client credentials, one-hour bearer tokens, and M2M user sessions.

- `POST /api/ts/v1/oauth2/token` trades `Basic base64(key:secret)` for a bearer token valid one hour; asking
  again within that hour answers the same token with the time it has left. The token is an HMAC of a stored
  nonce under the client secret, so it can be handed out again without ever being stored: the table keeps
  only the nonce and a SHA-256 of the token.
- `POST /api/m2m/v1/session/login` trades a user's password (with a bearer token) for a session token that
  expires after 20 minutes without use; a call that presents it slides the expiry (recorded at most once a minute,
  so calls in a burst write nothing). Failed logins are counted per name, known or not, as Densify counts them
  (pollgate/login_failures.py): from the third on, the name is refused unchecked for a window that doubles; the
  fifth in a row locks it for THINGSPACE_LOCKOUT_SECONDS (or until an operator unlocks it). Known and unknown names
  get the same answers, after the same scrypt work.

Items (thingspace/items.py): clients, their current token, bearer tokens, users, sessions.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from pollgate import clock
from pollgate.credentials import bearer_token
from pollgate.errors import NotFound, ServiceFault, Unauthenticated
from pollgate.login_failures import FailedLogins, LoginFailures, lock_seconds
from pollgate.passwords import decoy_hash, hash_secret, verify_secret
from pollgate.settings import get_settings
from pollgate.store import Item, Table
from pollgate.thingspace import errors, items
from pollgate.thingspace.hashing import derived_token, new_token, token_digest
from pollgate.thingspace.models import AccessToken

TOKEN_SECONDS = 3600
SESSION_IDLE_SECONDS = 20 * 60
# A session's recorded last use moves only once it is this old: a client's burst of calls (a submit and its polls)
# writes once, not per call. So a session expires 20 minutes after its last recorded use, which is at most this
# long before its last use: between 19 and 20 minutes after it, never later.
SESSION_TOUCH_SECONDS = 60
MAX_FAILED_LOGINS = 5
TOKEN_SCOPE = "m2m"  # noqa: S105 - an OAuth scope name, not a secret
# Expired sessions and tokens stay in the table this long (then the TTL removes them), so a late call is told
# "expired", not "invalid".
_KEEP_AFTER_EXPIRY_SECONDS = 86_400


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int

    def body(self) -> AccessToken:
        return AccessToken(access_token=self.access_token, expires_in=self.expires_in, scope=TOKEN_SCOPE)


@dataclass(frozen=True)
class Session:
    username: str
    accounts: tuple[str, ...]


class CredentialStore:
    """Clients, issued tokens, users and sessions (thingspace/items.py)."""

    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()
        self.failed_logins = FailedLogins(items.login_failures, _lock_seconds, self.table)

    # -- operator commands
    def add_client(self, key: str, secret: str) -> None:
        self.table.put(items.client(key), {"secretHash": hash_secret(secret), "createdAt": clock.iso()})
        self.table.delete(items.client_token(key))  # a new secret ends the token derived from the old one

    def add_user(self, username: str, password: str, accounts: Sequence[str]) -> None:
        self.table.put(
            items.user(username),
            {"passwordHash": hash_secret(password), "accounts": sorted(set(accounts)), "createdAt": clock.iso()},
        )
        self.failed_logins.clear(username)

    def unlock_user(self, username: str) -> bool:
        """Forget the user's failed logins (and so its lock); False when there is no such user."""
        self.failed_logins.clear(username)
        return self.table.get(items.user(username), consistent=True) is not None

    # -- reads and writes behind the face
    def client(self, key: str) -> Item | None:
        return self.table.get(items.client(key))

    def current_token(self, key: str) -> Item | None:
        return self.table.get(items.client_token(key), consistent=True)

    def save_token(self, key: str, nonce: str, not_after: float, digest: str, replacing: str | None) -> bool:
        """Record the client's token for this window; False when a concurrent request recorded another first."""
        expires = int(not_after) + _KEEP_AFTER_EXPIRY_SECONDS
        self.table.put(items.bearer(digest), {"clientKey": key, "notAfter": not_after, "expiresAt": expires})
        return self.table.put(
            items.client_token(key),
            {"nonce": nonce, "notAfter": not_after, "expiresAt": expires},
            condition="attribute_not_exists(pk) OR nonce = :replacing",
            values={":replacing": replacing or "-"},
        )

    def bearer(self, digest: str) -> Item | None:
        return self.table.get(items.bearer(digest))

    def user(self, username: str) -> Item | None:
        return self.table.get(items.user(username), consistent=True)

    def open_session(self, digest: str, username: str, accounts: Sequence[str]) -> None:
        now = clock.epoch()
        if not self.table.put(
            items.session(digest),
            {
                "username": username,
                "accounts": list(accounts),
                "lastUsed": now,
                "expiresAt": int(now) + SESSION_IDLE_SECONDS + _KEEP_AFTER_EXPIRY_SECONDS,
            },
            condition="attribute_not_exists(pk)",
        ):
            raise ValueError("a session token was issued twice")  # 256 random bits: never

    def touch_session(self, digest: str) -> Item | None:
        """The live session, its recorded last use moved to now if that is a minute old or more (one conditional
        write); a call within a minute of the recorded use only reads. None when it is unknown or expired."""
        now = clock.epoch()
        item = self.session(digest)
        if item is None or float(item["lastUsed"]) <= now - SESSION_IDLE_SECONDS:
            return None
        if now - float(item["lastUsed"]) < SESSION_TOUCH_SECONDS:
            return item
        return self.table.update(
            items.session(digest),
            "SET lastUsed = :now, expiresAt = :ttl",
            condition="attribute_exists(pk) AND lastUsed > :cutoff",
            values={
                ":now": now,
                ":cutoff": now - SESSION_IDLE_SECONDS,
                ":ttl": int(now) + SESSION_IDLE_SECONDS + _KEEP_AFTER_EXPIRY_SECONDS,
            },
        )

    def session(self, digest: str) -> Item | None:
        return self.table.get(items.session(digest), consistent=True)

    def close_session(self, digest: str) -> None:
        self.table.delete(items.session(digest))


# ------------------------------------------------------------------------------------------ OAuth tokens


def basic_credentials(authorization: str | None) -> tuple[str, str]:
    if not authorization or not authorization.strip():
        raise errors.missing_credentials("Basic")
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise errors.missing_credentials("Basic")
    try:
        key, colon, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise errors.invalid_credentials() from None
    if not colon or not key or not secret:
        raise errors.invalid_credentials()
    return key, secret


def issue_token(authorization: str | None, grant_type: str | None, store: CredentialStore | None = None) -> IssuedToken:
    """Client credentials -> the client's bearer token for the current hour (the same one if already issued)."""
    key, secret = basic_credentials(authorization)
    store = store or CredentialStore()
    client = store.client(key)
    if not verify_secret(secret, client["secretHash"] if client else decoy_hash()) or client is None:
        raise errors.invalid_credentials()
    if not grant_type:
        raise errors.oauth_error("invalid_request", "Missing grant_type parameter value")
    if grant_type != "client_credentials":
        raise errors.oauth_error("unsupported_grant_type", f"Unsupported grant_type value {grant_type[:64]!r}")
    for _ in range(3):  # bounded: another request can win the race at most once per window
        now = clock.epoch()
        current = store.current_token(key)
        if current and float(current["notAfter"]) > now:
            return IssuedToken(derived_token(secret, current["nonce"]), int(float(current["notAfter"]) - now))
        nonce = secrets.token_hex(16)
        token = derived_token(secret, nonce)
        not_after = now + TOKEN_SECONDS
        if store.save_token(key, nonce, not_after, token_digest(token), current["nonce"] if current else None):
            return IssuedToken(token, TOKEN_SECONDS)
    raise ServiceFault(errors.UNEXPECTED.body())


class _BearerCache:
    """Verified bearer tokens held across warm invocations until they expire: a warm call reads nothing.

    Safe because a bearer token is never revoked before its hour is up; bounded so it cannot grow without limit.
    """

    MAX_ENTRIES = 1024

    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, float]] = {}

    def get(self, digest: str) -> str | None:
        entry = self._entries.get(digest)
        if entry is None or entry[1] <= clock.epoch():
            self._entries.pop(digest, None)
            return None
        return entry[0]

    def put(self, digest: str, client_key: str, not_after: float) -> None:
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[digest] = (client_key, not_after)

    def clear(self) -> None:
        self._entries.clear()


_bearers = _BearerCache()


def forget_cached_bearers() -> None:
    _bearers.clear()


def verify_bearer(authorization: str | None, store: CredentialStore | None = None) -> str:
    """The client key behind `Authorization: Bearer <token>`; gateway faults when missing, unknown or expired."""
    token = bearer_token(authorization)
    if token is None:
        raise errors.missing_credentials()
    digest = token_digest(token)
    cached = _bearers.get(digest)
    if cached is not None:
        return cached
    item = (store or CredentialStore()).bearer(digest)
    if item is None or float(item["notAfter"]) <= clock.epoch():
        raise errors.invalid_credentials()
    _bearers.put(digest, item["clientKey"], float(item["notAfter"]))
    return str(item["clientKey"])


# ------------------------------------------------------------------------------------------ sessions


def _lock_seconds(failures: int) -> float:
    """Densify's slow-down, and from the fifth failure in a row the lockout."""
    if failures >= MAX_FAILED_LOGINS:
        return float(get_settings().thingspace_lockout_seconds)
    return float(lock_seconds(failures))


def _refusal(failures: LoginFailures) -> Unauthenticated:
    return Unauthenticated((errors.USER_LOCKED if failures.count >= MAX_FAILED_LOGINS else errors.LOGIN_FAILED).body())


def login(username: str, password: str, store: CredentialStore | None = None) -> str:
    """A new session token for the user. Every name, known or not, is answered alike at every failure count: a
    name refused unchecked while slowed down or locked, the same scrypt work otherwise."""
    store = store or CredentialStore()
    now = clock.epoch()
    failures = store.failed_logins.of(username)
    if failures.locked(now):
        raise _refusal(failures)
    user = store.user(username)
    matches = verify_secret(password, user["passwordHash"] if user else decoy_hash())
    if user is None or not matches:
        raise _refusal(store.failed_logins.record(username, now))
    if failures.count:
        store.failed_logins.clear(username)
    token = new_token()
    store.open_session(token_digest(token), username, user.get("accounts", []))
    return token


def authenticate_session(token: str | None, store: CredentialStore | None = None) -> Session:
    """The session behind a VZ-M2M-Token, its idle expiry slid forward by this call."""
    if not token or not token.strip():
        raise Unauthenticated(errors.SESSION_TOKEN_INVALID.body())
    store = store or CredentialStore()
    digest = token_digest(token.strip())
    item = store.touch_session(digest)
    if item is None:
        expired = store.session(digest) is not None
        raise Unauthenticated((errors.SESSION_TOKEN_EXPIRED if expired else errors.SESSION_TOKEN_INVALID).body())
    return Session(item["username"], tuple(item.get("accounts", [])))


def logout(token: str | None, store: CredentialStore | None = None) -> str:
    store = store or CredentialStore()
    session = authenticate_session(token, store)
    store.close_session(token_digest(str(token).strip()))
    return session.username


def require_account(session: Session, account_name: str) -> None:
    """A user sees only the accounts it was given; any other answers as if it did not exist."""
    if account_name not in session.accounts:
        raise NotFound(errors.ACCOUNT_NOT_FOUND.body(account_name[:64]))
