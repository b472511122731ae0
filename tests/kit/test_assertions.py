"""Identity assertions verify offline; tampering, expiry, purpose and audience are refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from medpay_kit.assertions import AssertionClaims, read_assertion, sign_assertion
from medpay_kit.errors import DomainError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
KEYS = {"k1": KEY.public_key()}


def token(**override):
    claims = dict(sub="p-1", aud="card", purpose="CARD_ISSUE", device_id="d-1", jti="a-1",
                  method="FACE", iat=int(NOW.timestamp()), exp=int(NOW.timestamp()) + 300)
    claims.update(override)
    return sign_assertion(AssertionClaims(**claims), "k1", KEY)


def reason(tok, **kw):
    args = dict(now=NOW, purpose="CARD_ISSUE", audience="card") | kw
    with pytest.raises(DomainError) as err:
        read_assertion(tok, KEYS, **args)
    return err.value.reason


def test_a_valid_assertion_reads_back_its_claims():
    claims = read_assertion(token(), KEYS, now=NOW, purpose="CARD_ISSUE", audience="card")
    assert claims.person_id == "p-1" and claims.device_id == "d-1"


def test_tampered_payload_or_signature_is_invalid():
    head, payload, sig = token().split(".")
    other = token(sub="p-2").split(".")[1]
    assert reason(f"{head}.{other}.{sig}") == "ASSERTION_INVALID"
    flipped = "B" if sig[-2] == "A" else "A"
    assert reason(f"{head}.{payload}.{sig[:-2]}{flipped}{sig[-1]}") == "ASSERTION_INVALID"
    assert reason("not-a-token") == "ASSERTION_INVALID"


def test_an_assertion_has_one_text_form():
    """Padding, the other base64 alphabet and other unused trailing bits are refused, so a
    token cannot travel (and be consumed) under several texts."""
    head, payload, sig = token().split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 64 signature bytes in 86 characters: the last one carries 4 unused bits
    last = alphabet.index(sig[-1])
    same_bytes = alphabet[last ^ 1]
    assert reason(f"{head}.{payload}.{sig[:-1]}{same_bytes}") == "ASSERTION_INVALID"
    assert reason(f"{head}.{payload}.{sig}==") == "ASSERTION_INVALID"
    standard = sig.replace("-", "+").replace("_", "/")
    if standard != sig:
        assert reason(f"{head}.{payload}.{standard}") == "ASSERTION_INVALID"


def test_a_key_we_do_not_know_is_invalid():
    forged = sign_assertion(AssertionClaims("p", "card", "CARD_ISSUE", "d", "j", "FACE", 0,
                                            int(NOW.timestamp()) + 60), "k1",
                            Ed25519PrivateKey.generate())
    assert reason(forged) == "ASSERTION_INVALID"


def test_expired_wrong_purpose_and_wrong_audience_are_refused():
    assert reason(token(exp=int(NOW.timestamp()))) == "ASSERTION_EXPIRED"
    assert reason(token(), purpose="CREDIT_AGREEMENT") == "ASSERTION_WRONG_PURPOSE"
    assert reason(token(), audience="billing") == "ASSERTION_WRONG_AUDIENCE"
