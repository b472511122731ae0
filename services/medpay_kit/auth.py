"""Who is calling: credentials in metadata, mTLS identities, caller kinds and scopes.

Every call presents either a bearer credential (``authorization: Bearer <prefix>_<id>.<secret>``)
or, for medpay's own services, nothing but its mTLS certificate (the certificate's common
name is the service name). The :class:`Authenticator` turns that into a :class:`Caller`:
a kind (pos / his / app / operator / service) and a scope (a pharmacy or hospital code, a
card id). Which callers may call each RPC, and on which objects, is the service's access
table (``medpay_kit.access``); the interceptor checks the callers, the use cases the scope.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from medpay_kit.errors import DomainError

#: the certificate names of a production stack's services; the echo benchmark adds its own
SERVICE_NAMES = frozenset({"identity", "card", "pharmacy", "billing"})


class CallerKind(StrEnum):
    POS = "pos"
    HIS = "his"
    APP = "app"
    OPERATOR = "operator"
    SERVICE = "service"


@dataclass(frozen=True, slots=True)
class Caller:
    kind: CallerKind
    principal: str  # terminal id, HIS client id, card id, service name, "operator"
    scope: str = ""  # pharmacy / hospital institution code, card id, or empty

    @property
    def key(self) -> str:
        """A stable namespace for this caller's idempotency keys."""
        return f"{self.kind}:{self.scope or self.principal}"


_current: ContextVar[Caller | None] = ContextVar("medpay_caller", default=None)


def current_caller() -> Caller:
    caller = _current.get()
    if caller is None:
        raise DomainError("UNAUTHENTICATED", "no authenticated caller")
    return caller


def set_current_caller(caller: Caller | None) -> None:
    _current.set(caller)


# --- bearer credentials -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    token: str  # shown to its holder once
    credential_id: str
    secret_hash: str  # what the issuing service stores


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_credential(prefix: str, credential_id: str) -> IssuedCredential:
    """A new credential ``<prefix>_<id>.<secret>``; only the hash of the secret is kept."""
    secret = secrets.token_urlsafe(32)
    return IssuedCredential(f"{prefix}_{credential_id}.{secret}", credential_id, hash_secret(secret))


def parse_credential(token: str) -> tuple[str, str, str] | None:
    """``(prefix, id, secret)`` of a well-formed credential, else None."""
    head, dot, secret = token.partition(".")
    prefix, us, cred_id = head.partition("_")
    if not (dot and us and prefix and cred_id and secret) or len(token) > 512:
        return None
    return prefix, cred_id, secret


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


#: A resolver gets ``(credential_id, secret)`` for its prefix and returns the caller or None.
Resolver = Callable[[str, str], Awaitable[Caller | None]]


def static_resolver(kind: CallerKind, principal: str, token_file: Path) -> Resolver:
    """A resolver for one fixed credential kept in a file (operator, app client keys)."""
    parsed = parse_credential(token_file.read_text().strip()) if token_file.exists() else None

    async def resolve(cred_id: str, secret: str) -> Caller | None:
        if parsed is None:
            return None
        _, expected_id, expected_secret = parsed
        if cred_id == expected_id and hmac.compare_digest(secret, expected_secret):
            return Caller(kind, principal)
        return None

    return resolve


class Authenticator:
    """Resolves the caller of one call from its metadata and its TLS peer."""

    def __init__(self, resolvers: Mapping[str, Resolver], services: Iterable[str] = SERVICE_NAMES):
        self._resolvers = dict(resolvers)
        self._services = frozenset(services)

    async def authenticate(self, metadata: Mapping[str, str], peer_name: str | None) -> Caller:
        header = metadata.get("authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            parsed = parse_credential(token.strip()) if scheme.lower() == "bearer" else None
            resolver = self._resolvers.get(parsed[0]) if parsed else None
            caller = await resolver(parsed[1], parsed[2]) if resolver and parsed else None
            if caller is None:
                raise DomainError("UNAUTHENTICATED", "the credential is not valid")
            return caller
        if peer_name in self._services:
            return Caller(CallerKind.SERVICE, peer_name)
        raise DomainError("UNAUTHENTICATED", "a credential is required")


def require_scope(caller: Caller, scope: str) -> None:
    """Refuse a pos/his/app caller touching an object outside its scope.

    Operators and services act across scopes; the check is for the outside callers.
    The refusal says NOT_FOUND-like nothing about whether the object exists elsewhere.
    """
    if caller.kind in (CallerKind.OPERATOR, CallerKind.SERVICE):
        return
    if caller.scope != scope:
        raise DomainError("PERMISSION_DENIED", "this object is outside the caller's scope")
