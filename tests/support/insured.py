"""An insured person with an issued card and a QR code, for every test that pays.

Shared by the pharmacy, billing and card tests. Everything goes through the real
services, as the people involved would do it:

1. the operator enrols the person in **identity** with a reference photo
   (``tests/data/faces``) and their consent;
2. the operator imports them into **card** (``ImportInsured``) linked to that identity
   person, with an opening personal-account balance;
3. the counter confirms their identity (``ConfirmIdentityAtCounter``, the non-face path;
   face-auth itself is tested by identity) → a ``CARD_ISSUE`` assertion for the device,
   or, with ``via="face"``, the app's face-auth (StartFaceAuth / CompleteFaceAuth) does;
4. the app issues the card (``IssueCard``) with the app credential → a device credential;
5. the app generates one-time QR codes (``GenerateQrCode``) with that credential.

``start_issuer(stack, keys_dir)`` starts identity and card for a stack.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from medpay.card.v1 import card_pb2, card_pb2_grpc
from medpay.common.v1 import insurance_pb2, money_pb2
from medpay.identity.v1 import identity_pb2, identity_pb2_grpc
from support.faces import counter_assertion, face_auth, photo

EMPLOYEE = insurance_pb2.INSURANCE_TYPE_EMPLOYEE_BASIC
RESIDENT = insurance_pb2.INSURANCE_TYPE_RESIDENT_BASIC
IN_SERVICE = insurance_pb2.PERSON_TYPE_IN_SERVICE
XIAN = "610100"


_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def unique_id_number(region: str = "610103") -> str:
    """A valid, random 18-character resident ID number (GB 11643 check character)."""
    born = date(1950, 1, 1) + timedelta(days=secrets.randbelow(25_000))
    first17 = f"{region}{born:%Y%m%d}{secrets.randbelow(1000):03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]
    return first17 + check


@dataclass(frozen=True)
class Insured:
    person_number: str
    insured_id: str
    identity_person_id: str
    card_id: str
    device_id: str
    device_credential: str


def start_issuer(stack, keys_dir: Path, **card_env: str) -> None:
    """Start identity, then card (wired to it), each with its own keyring under ``keys_dir``."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    if "identity" not in stack.services:
        stack.start("identity", keyring_file=str(keys_dir / "identity.json"))
    if "card" not in stack.services:
        stack.start("card", keyring_file=str(keys_dir / "card.json"), **card_env)


def card_stub(stack, *, token: str | None = None, identity: str = "client"):
    return card_pb2_grpc.CardServiceStub(stack.channel("card", token=token, identity=identity))


def enrol_person(stack, photo_name: str = "obama1", name: str = "张三",
                 number: str | None = None) -> str:
    """Enrol a person in identity (operator); returns the identity person id."""
    stub = identity_pb2_grpc.IdentityServiceStub(stack.channel("identity", token=stack.operator_token))
    reply = stub.EnrollPerson(identity_pb2.EnrollPersonRequest(
        request_id=f"enrol-{uuid.uuid4()}", id_number=number or unique_id_number(),
        name=name, reference_photo=photo(photo_name),
        consent=identity_pb2.Consent(given=True, consent_ref="FORM-0001")), timeout=60)
    return reply.person_id


def insured_with_card(stack, *, balance_fen: int = 100_000, insurance_type: int = EMPLOYEE,
                      person_type: int = IN_SERVICE, region: str = XIAN, name: str = "张三",
                      photo_name: str = "obama1", via: str = "counter") -> Insured:
    """A new insured person, enrolled, imported, with an ACTIVE card on a new device.

    ``via="counter"`` gets the CARD_ISSUE assertion at the counter (operator, non-face);
    ``via="face"`` through face-auth in the app (frames of obama1: enrol with an obama photo).
    """
    number = unique_id_number()
    person_id = enrol_person(stack, photo_name, name, number)
    operator = card_stub(stack, token=stack.operator_token)
    person_number = f"P{uuid.uuid4().hex[:16].upper()}"
    imported = operator.ImportInsured(card_pb2.ImportInsuredRequest(
        request_id=f"import-{person_number}", person_number=person_number,
        id_number=number, name=name, region_code=region,
        insurance_types=[insurance_type], person_type=person_type,
        status=card_pb2.INSURED_STATUS_ACTIVE,
        opening_balance=money_pb2.Money(amount_fen=balance_fen, currency="CNY"),
        identity_person_id=person_id), timeout=30)
    device_id = f"phone-{uuid.uuid4().hex[:8]}"
    if via == "face":
        _, completed = face_auth(stack, person_id, purpose="CARD_ISSUE", audience="card",
                                 device_id=device_id)
        assertion = completed.assertion
    else:
        assertion = counter_assertion(stack, person_id, purpose="CARD_ISSUE", audience="card",
                                      device_id=device_id)
    issued = card_stub(stack, token=stack.app_token).IssueCard(card_pb2.IssueCardRequest(
        request_id=f"issue-{person_number}", person_number=person_number, assertion=assertion,
        device_id=device_id), timeout=30)
    return Insured(person_number, imported.insured_id, person_id, issued.card.card_id, device_id,
                   issued.device_credential)


def qr_code(stack, insured: Insured) -> str:
    """A fresh one-time QR payload from the holder's app."""
    reply = card_stub(stack, token=insured.device_credential).GenerateQrCode(
        card_pb2.GenerateQrCodeRequest(request_id=f"qr-{uuid.uuid4()}"), timeout=30)
    return reply.qr_payload


def account(stack, insured: Insured) -> card_pb2.GetAccountResponse:
    """The holder's account as the operator sees it (balance, held, counters)."""
    return card_stub(stack, token=stack.operator_token).GetAccount(
        card_pb2.GetAccountRequest(card_id=insured.card_id), timeout=30)


def balance(stack, insured: Insured) -> int:
    return account(stack, insured).balance.amount_fen
