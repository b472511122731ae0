"""Card issuance with real identity assertions, the card lifecycle and device credentials,
through real identity and card processes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from cardtest import (
    Holder,
    as_service,
    assertion_for,
    card_stub,
    count,
    enrol,
    id_number,
    import_person,
    operator,
    pb,
    refusal,
    rid,
    start_card,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from medpay_kit.assertions import AssertionClaims, assertion_key_id, sign_assertion
from medpay_kit.keyring import Keyring

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def issuer(module_stack, tmp_path_factory):
    keys = tmp_path_factory.mktemp("keys")
    start_card(module_stack, keys)
    module_stack.keys_dir = keys
    return module_stack


class Applicant:
    """Enrolled in identity and imported into card, not yet holding a card."""

    def __init__(self, stack, *, link: bool = True, status: int = pb.INSURED_STATUS_ACTIVE):
        number = id_number()
        self.person_id = enrol(stack, number)
        self.insured_id, self.person_number = import_person(
            stack, balance=1000, identity_person_id=self.person_id if link else "", status=status)
        self.device_id = f"phone-{uuid.uuid4().hex[:8]}"

    def request(self, assertion: str, **override) -> pb.IssueCardRequest:
        fields = dict(request_id=rid("issue"), person_number=self.person_number,
                      assertion=assertion, device_id=self.device_id) | override
        return pb.IssueCardRequest(**fields)


def app(stack, token=None):
    return card_stub(stack, token or stack.app_token)


def test_a_card_is_issued_once_per_assertion_and_its_credential_works(issuer):
    person = Applicant(issuer)
    request = person.request(assertion_for(issuer, person.person_id, person.device_id))
    issued = app(issuer).IssueCard(request)
    card = issued.card
    assert card.status == pb.CARD_STATUS_ACTIVE and card.masked_name == "张*"
    assert card.region_code == "610100" and card.device_id == person.device_id
    assert issued.device_credential.startswith(f"dev_{person.device_id}.")
    assert app(issuer).IssueCard(request) == issued  # an idempotent retry, same credential
    own = app(issuer, issued.device_credential).GetCard(pb.GetCardRequest(card_id=card.card_id))
    assert own.card == card
    verified = as_service(issuer, "billing").VerifyDeviceCredential(
        pb.VerifyDeviceCredentialRequest(credential=issued.device_credential))
    assert (verified.card_id, verified.identity_person_id) == (card.card_id, person.person_id)
    stored = "".join(str(r) for r in issuer_rows(issuer))
    assert issued.device_credential.split(".", 1)[1] not in stored
    assert issued.device_credential.split(".", 1)[1] not in issuer.services["card"].logs()


def issuer_rows(stack):
    from cardtest import query

    return query(stack, "SELECT * FROM cards") + query(stack, "SELECT * FROM idempotency_keys")


def test_a_replayed_assertion_is_refused_and_books_nothing(issuer):
    person = Applicant(issuer)
    assertion = assertion_for(issuer, person.person_id, person.device_id)
    first = app(issuer).IssueCard(person.request(assertion))
    operator(issuer).RevokeCard(pb.RevokeCardRequest(request_id=rid(), card_id=first.card.card_id,
                                                     reason="test"))
    cards_before = count(issuer, "cards")
    assert refusal(app(issuer).IssueCard, person.request(assertion))[0] == "ASSERTION_USED"
    assert count(issuer, "cards") == cards_before


def test_forged_and_tampered_assertions_are_invalid(issuer):
    person = Applicant(issuer)
    real = assertion_for(issuer, person.person_id, person.device_id)
    claims = AssertionClaims(sub=person.person_id, aud="card", purpose="CARD_ISSUE",
                             device_id=person.device_id, jti=uuid.uuid4().hex, method="COUNTER",
                             iat=0, exp=4_000_000_000)
    forged = sign_assertion(claims, assertion_key_id(real), Ed25519PrivateKey.generate())
    unknown_key = sign_assertion(claims, "no-such-key", Ed25519PrivateKey.generate())
    head, _, sig = real.split(".")
    other_body = forged.split(".")[1]
    cards_before = count(issuer, "cards")
    for token in (forged, unknown_key, f"{head}.{other_body}.{sig}", "garbage", real + "x"):
        assert refusal(app(issuer).IssueCard, person.request(token))[0] == "ASSERTION_INVALID"
    assert count(issuer, "cards") == cards_before
    assert app(issuer).IssueCard(person.request(real)).card.status == pb.CARD_STATUS_ACTIVE


def test_an_assertion_for_someone_else_another_device_purpose_or_audience_is_refused(issuer):
    person, stranger = Applicant(issuer), Applicant(issuer)
    cases = [
        (assertion_for(issuer, stranger.person_id, person.device_id), "PERMISSION_DENIED"),
        (assertion_for(issuer, person.person_id, "another-phone"), "ASSERTION_WRONG_DEVICE"),
        (assertion_for(issuer, person.person_id, person.device_id, audience="billing"),
         "ASSERTION_WRONG_AUDIENCE"),
        (assertion_for(issuer, person.person_id, person.device_id, purpose="CREDIT_AGREEMENT"),
         "ASSERTION_WRONG_PURPOSE"),
    ]
    cards_before = count(issuer, "cards")
    for token, reason in cases:
        assert refusal(app(issuer).IssueCard, person.request(token))[0] == reason
    unlinked = Applicant(issuer, link=False)
    token = assertion_for(issuer, unlinked.person_id, unlinked.device_id)
    assert refusal(app(issuer).IssueCard, unlinked.request(token))[0] == "PERMISSION_DENIED"
    assert count(issuer, "cards") == cards_before


def test_who_cannot_get_a_card(issuer):
    holder = Holder(issuer)
    again = assertion_for(issuer, holder.person_id, "second-phone")
    assert refusal(app(issuer).IssueCard, pb.IssueCardRequest(
        request_id=rid(), person_number=holder.person_number, assertion=again,
        device_id="second-phone"))[0] == "CARD_ALREADY_ISSUED"
    ended = Applicant(issuer, status=pb.INSURED_STATUS_TERMINATED)
    token = assertion_for(issuer, ended.person_id, ended.device_id)
    assert refusal(app(issuer).IssueCard, ended.request(token))[0] == "INSURED_INACTIVE"
    assert refusal(app(issuer).IssueCard, ended.request(token, person_number="PSNNOBODY"))[0] == \
        "PERMISSION_DENIED"  # an unknown number is refused like someone else's
    assert refusal(app(issuer).IssueCard, ended.request(token, device_id="bad.device"))[1] == \
        {"field": "device_id"}
    assert refusal(app(issuer).IssueCard, ended.request(""))[1] == {"field": "assertion"}
    assert refusal(operator(issuer).IssueCard, ended.request(token))[0] == "PERMISSION_DENIED"


def test_suspend_resume_and_revoke(issuer):
    holder = Holder(issuer)
    mine = holder.app
    suspend = pb.SuspendCardRequest(request_id=rid(), card_id=holder.card_id, reason="phone lost")
    assert mine.SuspendCard(suspend).card.status == pb.CARD_STATUS_SUSPENDED
    assert mine.SuspendCard(suspend).card.status == pb.CARD_STATUS_SUSPENDED  # replay
    seen = mine.GetCard(pb.GetCardRequest(card_id=holder.card_id)).card  # still authenticates
    assert seen.status == pb.CARD_STATUS_SUSPENDED and seen.status_reason == "phone lost"
    assert refusal(mine.GenerateQrCode, pb.GenerateQrCodeRequest(request_id=rid()))[0] == \
        "CARD_SUSPENDED"
    resumed = mine.ResumeCard(pb.ResumeCardRequest(request_id=rid(), card_id=holder.card_id))
    assert resumed.card.status == pb.CARD_STATUS_ACTIVE
    op = operator(issuer)
    op.SuspendCard(pb.SuspendCardRequest(request_id=rid(), card_id=holder.card_id, reason="fraud"))
    assert refusal(mine.ResumeCard, pb.ResumeCardRequest(request_id=rid(), card_id=holder.card_id))[0] \
        == "PERMISSION_DENIED"
    op.ResumeCard(pb.ResumeCardRequest(request_id=rid(), card_id=holder.card_id))
    revoked = mine.RevokeCard(pb.RevokeCardRequest(request_id=rid(), card_id=holder.card_id))
    assert revoked.card.status == pb.CARD_STATUS_REVOKED
    assert refusal(mine.GetCard, pb.GetCardRequest(card_id=holder.card_id))[0] == "UNAUTHENTICATED"
    assert refusal(as_service(issuer, "billing").VerifyDeviceCredential, pb.VerifyDeviceCredentialRequest(
        credential=holder.credential))[0] == "DEVICE_CREDENTIAL_INVALID"
    assert refusal(op.ResumeCard, pb.ResumeCardRequest(request_id=rid(), card_id=holder.card_id))[0] \
        == "CARD_REVOKED"


def test_reissue_replaces_the_card_and_the_old_credential_stops_working(issuer):
    holder = Holder(issuer)
    new_device = f"phone-{uuid.uuid4().hex[:8]}"
    request = pb.ReissueCardRequest(request_id=rid(), card_id=holder.card_id, device_id=new_device,
                                    assertion=assertion_for(issuer, holder.person_id, new_device))
    reissued = app(issuer).ReissueCard(request)
    assert reissued.card.replaces_card_id == holder.card_id and reissued.card.card_id != holder.card_id
    assert app(issuer).ReissueCard(request) == reissued
    assert refusal(holder.app.GetCard, pb.GetCardRequest(card_id=holder.card_id))[0] == "UNAUTHENTICATED"
    old = operator(issuer).GetCard(pb.GetCardRequest(card_id=holder.card_id)).card
    assert old.status == pb.CARD_STATUS_REPLACED
    new_app = app(issuer, reissued.device_credential)
    assert new_app.GetCard(pb.GetCardRequest(card_id=reissued.card.card_id)).card.status == \
        pb.CARD_STATUS_ACTIVE
    assert new_app.GenerateQrCode(pb.GenerateQrCodeRequest(request_id=rid())).qr_payload
    again = pb.ReissueCardRequest(request_id=rid(), card_id=holder.card_id, device_id="third",
                                  assertion=assertion_for(issuer, holder.person_id, "third"))
    assert refusal(app(issuer).ReissueCard, again)[0] == "CARD_REVOKED"
    stranger = Holder(issuer)
    theft = pb.ReissueCardRequest(request_id=rid(), card_id=reissued.card.card_id, device_id="x1",
                                  assertion=assertion_for(issuer, stranger.person_id, "x1"))
    assert refusal(app(issuer).ReissueCard, theft)[0] == "PERMISSION_DENIED"


def test_an_app_touches_only_its_own_card(issuer):
    alice, bob = Holder(issuer), Holder(issuer)
    assert refusal(alice.app.GetCard, pb.GetCardRequest(card_id=bob.card_id))[0] == "CARD_NOT_FOUND"
    assert refusal(alice.app.GetAccount, pb.GetAccountRequest(card_id=bob.card_id))[0] == \
        "CARD_NOT_FOUND"
    assert refusal(alice.app.GetAccount, pb.GetAccountRequest(insured_id=bob.insured_id))[0] == \
        "INSURED_NOT_FOUND"
    assert refusal(alice.app.ListAccountEntries, pb.ListAccountEntriesRequest(
        card_id=bob.card_id))[0] == "CARD_NOT_FOUND"
    assert refusal(alice.app.SuspendCard, pb.SuspendCardRequest(
        request_id=rid(), card_id=bob.card_id))[0] == "CARD_NOT_FOUND"
    assert alice.app.GetAccount(pb.GetAccountRequest(insured_id=alice.insured_id)).balance.amount_fen \
        == 100_000
    assert refusal(alice.app.ImportInsured, pb.ImportInsuredRequest())[0] == "PERMISSION_DENIED"


def test_personal_data_survives_a_key_rotation(issuer):
    holder = Holder(issuer, name="Obama")
    Keyring.rotate(Path(issuer.keys_dir) / "card-keys.json")
    issuer.services["card"].restart()
    card = operator(issuer).GetCard(pb.GetCardRequest(card_id=holder.card_id)).card
    assert card.masked_name == "O****"
    fresh, _ = import_person(issuer, name="王小明")
    from cardtest import query

    key_ids = dict(query(issuer, "SELECT insured_id, key_id FROM insured_persons"))
    assert key_ids[holder.insured_id] == "k1" and key_ids[fresh] == "k2"
    assert json.loads((Path(issuer.keys_dir) / "card-keys.json").read_text())["active"] == "k2"


def test_an_expired_assertion_is_refused(issuer):
    person = Applicant(issuer)
    token = assertion_for(issuer, person.person_id, person.device_id)
    issuer.move_clock(180)  # identity's assertions live 120 s
    assert refusal(app(issuer).IssueCard, person.request(token))[0] == "ASSERTION_EXPIRED"
