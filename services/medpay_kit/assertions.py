"""Identity assertions: compact JWS (RFC 7515) signed with Ed25519 ("EdDSA").

The identity service signs them (:func:`sign_assertion`); card and billing check them
offline with the published keys (:func:`read_assertion`) and then consume them once through
``IdentityService.VerifyAssertion`` (:class:`AssertionVerifier`). Claims: ``sub`` person id,
``aud`` audience (the consuming service), ``purpose``, ``device_id``, ``jti`` unique id,
``method`` (FACE or COUNTER), ``iat`` and ``exp`` (seconds since the epoch).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from medpay_kit import b64url
from medpay_kit.clock import Clock
from medpay_kit.errors import DomainError

MAX_TOKEN = 4096


@dataclass(frozen=True, slots=True)
class AssertionClaims:
    sub: str
    aud: str
    purpose: str
    device_id: str
    jti: str
    method: str
    iat: int
    exp: int

    @property
    def person_id(self) -> str:
        return self.sub

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.exp, UTC)


def sign_assertion(claims: AssertionClaims, key_id: str, key: Ed25519PrivateKey) -> str:
    header = b64url.encode(json.dumps({"alg": "EdDSA", "kid": key_id, "typ": "JWT"},
                             separators=(",", ":")).encode())
    payload = b64url.encode(json.dumps(asdict(claims), separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{header}.{payload}".encode()
    return f"{header}.{payload}.{b64url.encode(key.sign(signing_input))}"


def assertion_key_id(token: str) -> str:
    """The ``kid`` of a token's header (no signature check)."""
    try:
        header = json.loads(b64url.decode(token.split(".", 1)[0]))
        return str(header["kid"])
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise DomainError("ASSERTION_INVALID", "the assertion is malformed") from exc


def read_assertion(token: str, keys: Mapping[str, Ed25519PublicKey], *, now: datetime,
                   purpose: str, audience: str) -> AssertionClaims:
    """Verify signature, expiry, purpose and audience offline; return the claims."""
    parts = token.split(".") if 0 < len(token) <= MAX_TOKEN else []
    if len(parts) != 3:
        raise DomainError("ASSERTION_INVALID", "the assertion is malformed")
    key = keys.get(assertion_key_id(token))
    if key is None:
        raise DomainError("ASSERTION_INVALID", "the assertion is signed by an unknown key")
    try:
        key.verify(b64url.decode(parts[2]), f"{parts[0]}.{parts[1]}".encode())
        claims = AssertionClaims(**json.loads(b64url.decode(parts[1])))
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise DomainError("ASSERTION_INVALID", "the assertion signature is not valid") from exc
    if now.timestamp() >= claims.exp:
        raise DomainError("ASSERTION_EXPIRED", "the assertion has expired")
    if claims.purpose != purpose:
        raise DomainError("ASSERTION_WRONG_PURPOSE", f"the assertion is not for {purpose}")
    if claims.aud != audience:
        raise DomainError("ASSERTION_WRONG_AUDIENCE", "the assertion is for another service")
    return claims


class AssertionVerifier:
    """For a consuming service: offline check with cached public keys, then single use.

    ``identity`` is an ``IdentityServiceStub`` on an asyncio channel. Keys are fetched
    once and again whenever a token names a key id not seen yet (rotation).
    """

    def __init__(self, identity: object, audience: str, clock: Clock) -> None:
        self._identity = identity
        self._audience = audience
        self._clock = clock
        self._keys: dict[str, Ed25519PublicKey] = {}

    async def _refresh_keys(self) -> None:
        from medpay.identity.v1 import identity_pb2

        reply = await self._identity.GetSigningKeys(identity_pb2.GetSigningKeysRequest())  # type: ignore[attr-defined]
        self._keys = {k.key_id: Ed25519PublicKey.from_public_bytes(k.public_key) for k in reply.keys}

    async def check(self, token: str, *, purpose: str, device_id: str | None = None,
                    audience: str | None = None) -> AssertionClaims:
        """Check ``token`` offline (signature, expiry, purpose, audience, device); use nothing up.

        A consumer calls this before it looks at the person or object the request names, so
        a caller without a valid assertion learns nothing about them (then :meth:`consume`).
        ``audience`` defaults to this verifier's own; another is named for an assertion a
        different service consumed and forwards as proof.
        """
        from medpay_kit.client import as_domain_error

        if assertion_key_id(token) not in self._keys:
            try:
                await self._refresh_keys()
            except grpc.RpcError as exc:
                raise as_domain_error(exc) from exc
        claims = read_assertion(token, self._keys, now=self._clock.now(), purpose=purpose,
                                audience=audience or self._audience)
        if device_id is not None and claims.device_id != device_id:
            raise DomainError("ASSERTION_WRONG_DEVICE", "the assertion is bound to another device")
        return claims

    async def consume(self, token: str, *, purpose: str, request_id: str,
                      device_id: str | None = None) -> AssertionClaims:
        """Check ``token`` and mark it used; ``request_id`` makes a retry replay, not fail."""
        from medpay.common.v1 import insurance_pb2
        from medpay.identity.v1 import identity_pb2
        from medpay_kit.client import as_domain_error

        claims = await self.check(token, purpose=purpose, device_id=device_id)
        try:
            await self._identity.VerifyAssertion(identity_pb2.VerifyAssertionRequest(  # type: ignore[attr-defined]
                request_id=f"{self._audience}:{request_id}", assertion=token,
                expected_purpose=insurance_pb2.FacePurpose.Value(f"FACE_PURPOSE_{purpose}"),
                expected_audience=self._audience, consume=True))
        except grpc.RpcError as exc:
            raise as_domain_error(exc) from exc
        return claims
