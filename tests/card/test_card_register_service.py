"""Insured persons, personal-account credits, the insurance query and benefit policies,
through a real card process."""

from __future__ import annotations

import pytest
from cardtest import (
    EMPLOYEE,
    IN_SERVICE,
    OUTPATIENT,
    RESIDENT,
    TIER2,
    as_service,
    card_stub,
    count,
    fen,
    id_number,
    import_person,
    ledger_problems,
    operator,
    pb,
    query,
    refusal,
    rid,
    start_card,
)

from medpay.common.v1.money_pb2 import Money

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def card(module_stack, tmp_path_factory):
    start_card(module_stack, tmp_path_factory.mktemp("keys"), with_identity=False)
    return module_stack


def import_request(**override) -> pb.ImportInsuredRequest:
    fields = dict(request_id=rid("imp"), person_number="PSNREG0001", id_number=id_number(),
                  name="李四", region_code="610100", insurance_types=[EMPLOYEE],
                  person_type=IN_SERVICE, status=pb.INSURED_STATUS_ACTIVE,
                  opening_balance=fen(12_345))
    fields.update(override)
    return pb.ImportInsuredRequest(**fields)


def test_import_creates_then_updates_and_the_opening_balance_counts_once(card):
    op = operator(card)
    first = op.ImportInsured(import_request(person_number="PSNREG0001"))
    again = op.ImportInsured(import_request(person_number="PSNREG0001", opening_balance=fen(99_999),
                                            insurance_types=[EMPLOYEE, RESIDENT]))
    assert first.created and not again.created and again.insured_id == first.insured_id
    account = op.GetAccount(pb.GetAccountRequest(insured_id=first.insured_id))
    assert (account.balance.amount_fen, account.held.amount_fen) == (12_345, 0)
    assert {p.policy_id.split("-")[1] for p in account.policies} == {"310", "390"}


def test_import_is_idempotent_by_request_id(card):
    op = operator(card)
    request = import_request(person_number="PSNREG0002")
    assert op.ImportInsured(request) == op.ImportInsured(request)
    changed = import_request(person_number="PSNREG0002", request_id=request.request_id, name="王五")
    assert refusal(op.ImportInsured, changed)[0] == "IDEMPOTENCY_MISMATCH"


def test_personal_data_is_stored_only_encrypted_and_hashed(card):
    number, name, person_number = id_number(), "欧阳娜娜", "PSNSECRET77"
    operator(card).ImportInsured(import_request(person_number=person_number, id_number=number,
                                                name=name))
    rows = query(card, "SELECT * FROM insured_persons")
    dump = repr(rows).encode() + b"".join(v for r in rows for v in r if isinstance(v, bytes))
    for secret in (number, name, person_number):
        assert secret.encode() not in dump
    assert {r[0] for r in query(card, "SELECT DISTINCT key_id FROM insured_persons")} == {"k1"}
    url = card.services["card"].env["MEDPAY_CARD_DATABASE_URL"]
    if url.startswith("sqlite"):
        raw = open(url.split(":///", 1)[1], "rb").read()
        assert number.encode() not in raw and name.encode() not in raw
    logs = card.services["card"].logs()
    assert number not in logs and name not in logs and person_number not in logs


@pytest.mark.parametrize(("override", "reason", "field"), [
    ({"id_number": "610103199001010000"}, "INVALID_ID_NUMBER", "id_number"),
    ({"person_number": ""}, "INVALID_ARGUMENT", "person_number"),
    ({"name": ""}, "INVALID_ARGUMENT", "name"),
    ({"region_code": "61010"}, "INVALID_ARGUMENT", "region_code"),
    ({"insurance_types": []}, "INVALID_ARGUMENT", "insurance_types"),
    ({"insurance_types": [999]}, "INVALID_ARGUMENT", "insurance_types[0]"),
    ({"insurance_types": [EMPLOYEE, EMPLOYEE]}, "INVALID_ARGUMENT", "insurance_types"),
    ({"person_type": 0}, "INVALID_ARGUMENT", "person_type"),
    ({"status": 7}, "INVALID_ARGUMENT", "status"),
    ({"opening_balance": fen(-1)}, "INVALID_ARGUMENT", "opening_balance"),
    ({"opening_balance": Money(amount_fen=1, currency="USD")}, "INVALID_ARGUMENT",
     "opening_balance"),
    ({"request_id": ""}, "INVALID_ARGUMENT", None),
])
def test_bad_import_input_is_refused_naming_the_field_and_nothing_is_stored(card, override, reason,
                                                                             field):
    before = count(card, "insured_persons")
    got, metadata = refusal(operator(card).ImportInsured,
                            import_request(**({"person_number": "PSNBAD0001"} | override)))
    assert got == reason and metadata.get("field") == field
    assert count(card, "insured_persons") == before


def test_credit_once_per_period_and_idempotent(card):
    insured_id, number = import_person(card, balance=1000)
    op = operator(card)
    request = pb.CreditAccountRequest(request_id=rid(), insured_id=insured_id, period="2026-05",
                                      amount=fen(25_000))
    first = op.CreditAccount(request)
    assert first.balance_after.amount_fen == 26_000 and op.CreditAccount(request) == first
    again = pb.CreditAccountRequest(request_id=rid(), person_number=number, period="2026-05",
                                    amount=fen(25_000))
    assert refusal(op.CreditAccount, again)[0] == "PERIOD_ALREADY_CREDITED"
    by_number = op.CreditAccount(pb.CreditAccountRequest(
        request_id=rid(), person_number=number, period="2026-06", amount=fen(1)))
    assert by_number.balance_after.amount_fen == 26_001


@pytest.mark.parametrize(("request_fields", "reason", "field"), [
    ({"period": "2026-13"}, "INVALID_ARGUMENT", "period"),
    ({"period": "26-01"}, "INVALID_ARGUMENT", "period"),
    ({"amount": fen(0)}, "INVALID_ARGUMENT", "amount"),
    ({"amount": fen(-5)}, "INVALID_ARGUMENT", "amount"),
    ({"insured_id": "ins_nobody"}, "INSURED_NOT_FOUND", "insured_id"),
    ({"insured_id": None, "person_number": "PSNNOBODY"}, "INSURED_NOT_FOUND", "person_number"),
    ({"insured_id": None}, "INVALID_ARGUMENT", "insured"),
])
def test_bad_credits_are_refused_and_book_nothing(card, request_fields, reason, field):
    insured_id, _ = import_person(card, balance=0)
    fields = {"request_id": rid(), "insured_id": insured_id, "period": "2026-07",
              "amount": fen(100)} | request_fields
    fields = {k: v for k, v in fields.items() if v is not None}
    entries_before = count(card, "ledger_entries")
    got, metadata = refusal(operator(card).CreditAccount, pb.CreditAccountRequest(**fields))
    assert (got, metadata.get("field")) == (reason, field)
    assert count(card, "ledger_entries") == entries_before


def test_the_account_equals_the_sum_of_its_entries_listed_newest_first_in_pages(card):
    insured_id, _ = import_person(card, balance=500)
    op = operator(card)
    for month in range(1, 6):
        op.CreditAccount(pb.CreditAccountRequest(request_id=rid(), insured_id=insured_id,
                                                 period=f"2026-{month:02d}", amount=fen(month)))
    pages, token = [], ""
    while True:
        page = op.ListAccountEntries(pb.ListAccountEntriesRequest(
            insured_id=insured_id, page_size=2, page_token=token))
        pages.append(page.entries)
        token = page.next_page_token
        if not token:
            break
    entries = [e for page in pages for e in page]
    assert [len(p) for p in pages] == [2, 2, 2]
    assert [e.reference for e in entries] == [f"2026-0{m}" for m in range(5, 0, -1)] + ["opening"]
    account = op.GetAccount(pb.GetAccountRequest(insured_id=insured_id))
    assert account.balance.amount_fen == sum(e.amount.amount_fen for e in entries) == 515
    assert entries[0].balance_after.amount_fen == 515
    assert refusal(op.ListAccountEntries, pb.ListAccountEntriesRequest(
        insured_id=insured_id, page_token="not-a-token"))[0] == "INVALID_ARGUMENT"
    assert ledger_problems(card) == []


def test_the_sample_policies_are_loaded_and_listed_in_pages(card):
    op = operator(card)
    everything, token = [], ""
    while True:
        page = op.ListPolicies(pb.ListPoliciesRequest(page_size=7, page_token=token))
        everything.extend(page.policies)
        token = page.next_page_token
        if not token:
            break
    ids = [(p.policy_id, p.version) for p in everything]
    assert ids == sorted(ids) and len({i for i in ids if i[1] == 1}) == 36
    inpatient = [p for p in everything if p.medical_type == 21]
    assert inpatient and all(p.deductible_scope == pb.DEDUCTIBLE_SCOPE_ADMISSION for p in inpatient)
    residents = op.ListPolicies(pb.ListPoliciesRequest(insurance_type=RESIDENT, page_size=500))
    assert residents.policies and all(p.insurance_type == RESIDENT for p in residents.policies)


def new_version(**override) -> pb.BenefitPolicy:
    fields = dict(policy_id="610100-310-OUTPATIENT-TIER2-IN_SERVICE", version=2,
                  region_code="610100", insurance_type=EMPLOYEE, medical_type=OUTPATIENT,
                  level=TIER2, person_type=IN_SERVICE, effective_from="2027-01-01",
                  deductible=fen(15_000), fund_ratio_bp=6500, yearly_cap=fen(300_000),
                  pooling_applies_by_default=True)
    fields.update(override)
    return pb.BenefitPolicy(**fields)


def test_policy_versions_are_added_once_and_immutable(card):
    op = operator(card)
    created = op.PutPolicy(pb.PutPolicyRequest(request_id=rid(), policy=new_version()))
    assert created.created and created.policy.deductible_scope == pb.DEDUCTIBLE_SCOPE_YEAR
    same = op.PutPolicy(pb.PutPolicyRequest(request_id=rid(), policy=new_version()))
    assert not same.created
    other = pb.PutPolicyRequest(request_id=rid(), policy=new_version(fund_ratio_bp=9000))
    assert refusal(op.PutPolicy, other)[0] == "ALREADY_EXISTS"
    clash = new_version(policy_id="another-id-same-combination")
    assert refusal(op.PutPolicy, pb.PutPolicyRequest(request_id=rid(), policy=clash))[0] == \
        "ALREADY_EXISTS"


@pytest.mark.parametrize(("override", "field"), [
    ({"region_code": "6101"}, "policy.region_code"),
    ({"medical_type": 0}, "policy.medical_type"),
    ({"fund_ratio_bp": 10_001}, "policy"),
    ({"version": 0}, "policy"),
    ({"effective_from": "2027-02-30"}, "policy.effective_from"),
    ({"effective_to": "2026-01-01"}, "policy"),
    ({"deductible": fen(-1)}, "policy.deductible"),
])
def test_bad_policies_are_refused_naming_the_field(card, override, field):
    policy = new_version(**({"version": 9} | override))
    got, metadata = refusal(operator(card).PutPolicy,
                            pb.PutPolicyRequest(request_id=rid(), policy=policy))
    assert (got, metadata.get("field")) == ("INVALID_ARGUMENT", field)


def test_callers_of_the_wrong_kind_are_refused(card):
    assert refusal(card_stub(card, card.app_token).ImportInsured, import_request())[0] == \
        "PERMISSION_DENIED"
    assert refusal(as_service(card).CreditAccount, pb.CreditAccountRequest())[0] == \
        "PERMISSION_DENIED"
    assert refusal(as_service(card).PutPolicy, pb.PutPolicyRequest())[0] == "PERMISSION_DENIED"
    assert refusal(card_stub(card).GetAccount, pb.GetAccountRequest())[0] == "UNAUTHENTICATED"
    forged = card.operator_token.rsplit(".", 1)[0] + ".forged"
    assert refusal(card_stub(card, forged).ListPolicies, pb.ListPoliciesRequest())[0] == \
        "UNAUTHENTICATED"
    # the static app credential names no card, so it reads no account
    assert refusal(card_stub(card, card.app_token).GetAccount,
                   pb.GetAccountRequest(insured_id="ins_x"))[0] == "PERMISSION_DENIED"
