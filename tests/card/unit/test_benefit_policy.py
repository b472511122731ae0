"""Versioned benefit policies: the shipped sample file, selection, and immutability."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from medpay_card.domain.adjudication import Terms
from medpay_card.domain.policy import (
    DEFAULT_POLICY_FILE,
    BenefitPolicy,
    PolicyBook,
    terms_for,
)
from medpay_kit.errors import DomainError

ON = date(2026, 3, 15)
XIAN = "610100"


@pytest.fixture(scope="module")
def book() -> PolicyBook:
    return PolicyBook.load_toml(DEFAULT_POLICY_FILE)


def numbers(policy: BenefitPolicy) -> tuple[object, ...]:
    return (policy.deductible, policy.deductible_scope, policy.fund_ratio_bp,
            policy.yearly_cap, policy.pooling, policy.account_may_pay_out_of_scope)


def test_shipped_file_loads_every_sample_combination(book: PolicyBook) -> None:
    # employee outpatient 8 + inpatient 8 + pharmacy 8; resident outpatient 4 + pharmacy 8
    assert len(book) == 36
    assert all(p.region_code == XIAN and p.effective_from == date(2026, 1, 1)
               and p.effective_to is None and p.version == 1 for p in book)
    assert not any(p.account_may_pay_out_of_scope for p in book)


@pytest.mark.parametrize(("level", "person", "expected"), [
    ("COMMUNITY", "IN_SERVICE", (20000, "YEAR", 7000, 200000, True, False)),
    ("TIER1", "IN_SERVICE", (20000, "YEAR", 7000, 200000, True, False)),
    ("TIER2", "IN_SERVICE", (20000, "YEAR", 6000, 200000, True, False)),
    ("TIER3", "IN_SERVICE", (20000, "YEAR", 5000, 200000, True, False)),
    ("COMMUNITY", "RETIRED", (20000, "YEAR", 7500, 250000, True, False)),
    ("TIER2", "RETIRED", (20000, "YEAR", 6500, 250000, True, False)),
    ("TIER3", "RETIRED", (20000, "YEAR", 5500, 250000, True, False)),
])
def test_employee_outpatient_by_level_and_person_type(
    book: PolicyBook, level: str, person: str, expected: tuple[object, ...]
) -> None:
    policy = book.select(XIAN, 310, "OUTPATIENT", level, person, ON)
    assert numbers(policy) == expected
    assert policy.policy_id == f"610100-310-OUTPATIENT-{level}-{person}"


@pytest.mark.parametrize(("level", "person", "deductible", "ratio"), [
    ("COMMUNITY", "IN_SERVICE", 20000, 9000),
    ("TIER2", "IN_SERVICE", 50000, 8500),
    ("TIER3", "IN_SERVICE", 120000, 8000),
    ("TIER1", "RETIRED", 20000, 9400),
    ("TIER2", "RETIRED", 50000, 9000),
    ("TIER3", "RETIRED", 120000, 8500),
])
def test_employee_inpatient_deductible_is_per_admission(
    book: PolicyBook, level: str, person: str, deductible: int, ratio: int
) -> None:
    policy = book.select(XIAN, 310, "INPATIENT", level, person, ON)
    assert numbers(policy) == (deductible, "ADMISSION", ratio, 40000000, True, False)


def test_employee_pharmacy_uses_community_outpatient_numbers(book: PolicyBook) -> None:
    community = book.select(XIAN, 310, "OUTPATIENT", "COMMUNITY", "RETIRED", ON)
    for level in ("COMMUNITY", "TIER3"):
        pharmacy = book.select(XIAN, 310, "PHARMACY", level, "RETIRED", ON)
        assert numbers(pharmacy) == numbers(community)


def test_resident_outpatient_is_primary_care_only(book: PolicyBook) -> None:
    community = book.select(XIAN, 390, "OUTPATIENT", "COMMUNITY", "RETIRED", ON)
    tier1 = book.select(XIAN, 390, "OUTPATIENT", "TIER1", "IN_SERVICE", ON)
    assert numbers(community) == (0, "YEAR", 7000, 20000, True, False)
    assert numbers(tier1) == (0, "YEAR", 6000, 20000, True, False)
    with pytest.raises(DomainError) as err:
        book.select(XIAN, 390, "OUTPATIENT", "TIER2", "IN_SERVICE", ON)
    assert err.value.reason == "POLICY_NOT_FOUND"


def test_resident_pharmacy_has_no_pooling(book: PolicyBook) -> None:
    policy = book.select(XIAN, 390, "PHARMACY", "COMMUNITY", "IN_SERVICE", ON)
    assert policy.pooling is False
    assert terms_for(policy, pooling_applies_at_institution=True).pooling_applies is False


@pytest.mark.parametrize("query", [
    ("310100", 310, "OUTPATIENT", "COMMUNITY", "IN_SERVICE", ON),  # another region
    (XIAN, 320, "OUTPATIENT", "COMMUNITY", "IN_SERVICE", ON),  # another scheme
    (XIAN, 310, "OUTPATIENT", "COMMUNITY", "IN_SERVICE", date(2025, 12, 31)),  # too early
])
def test_missing_policy_is_policy_not_found(book: PolicyBook, query: tuple) -> None:
    with pytest.raises(DomainError) as err:
        book.select(*query)
    assert err.value.reason == "POLICY_NOT_FOUND"


def test_terms_combine_policy_and_institution(book: PolicyBook) -> None:
    policy = book.select(XIAN, 310, "PHARMACY", "COMMUNITY", "IN_SERVICE", ON)
    assert terms_for(policy, pooling_applies_at_institution=True) == Terms(
        deductible=20000, fund_ratio_bp=7000, yearly_cap=200000, pooling_applies=True,
        account_may_pay_out_of_scope=False, policy_id=policy.policy_id, version=1,
        deductible_scope="YEAR")
    assert terms_for(policy, pooling_applies_at_institution=False).pooling_applies is False


# ------------------------------------------------------------ versions and dates

def policy(version: int = 1, frm: date = date(2026, 1, 1), to: date | None = None,
           ratio: int = 7000, policy_id: str = "P") -> BenefitPolicy:
    return BenefitPolicy(
        policy_id=policy_id, version=version, region_code=XIAN, insurance_type=310,
        medical_type="OUTPATIENT", institution_level="COMMUNITY", person_type="IN_SERVICE",
        effective_from=frm, effective_to=to, deductible=20000, deductible_scope="YEAR",
        fund_ratio_bp=ratio, yearly_cap=200000, pooling=True,
        account_may_pay_out_of_scope=False)


def select(book: PolicyBook, on: date) -> BenefitPolicy:
    return book.select(XIAN, 310, "OUTPATIENT", "COMMUNITY", "IN_SERVICE", on)


def test_highest_version_covering_the_date_wins() -> None:
    v1 = policy(1)
    v2 = policy(2, frm=date(2026, 7, 1), ratio=7500)
    v3 = policy(3, frm=date(2026, 9, 1), to=date(2026, 9, 30), ratio=8000)
    book = PolicyBook([v3, v1, v2])
    assert select(book, date(2026, 6, 30)) == v1
    assert select(book, date(2026, 7, 1)) == v2
    assert select(book, date(2026, 9, 30)) == v3  # effective_to is inclusive
    assert select(book, date(2026, 10, 1)) == v2


def test_readding_the_same_version_is_a_no_op_but_a_change_is_refused() -> None:
    book = PolicyBook([policy(1)])
    book.add(policy(1))
    assert len(book) == 1
    with pytest.raises(DomainError) as err:
        book.add(policy(1, ratio=9000))
    assert err.value.reason == "ALREADY_EXISTS"
    assert select(book, date(2026, 2, 1)).fund_ratio_bp == 7000


def test_two_ids_with_the_same_version_for_one_combination_are_refused() -> None:
    book = PolicyBook([policy(1, to=date(2026, 6, 30))])
    book.add(policy(1, frm=date(2026, 7, 1), policy_id="Q"))  # no overlap: fine
    with pytest.raises(DomainError) as err:
        book.add(policy(1, frm=date(2026, 6, 30), policy_id="R"))
    assert err.value.reason == "ALREADY_EXISTS"


@pytest.mark.parametrize("change", [
    {"fund_ratio_bp": 10001}, {"deductible": -1}, {"region_code": "61010"},
    {"medical_type": "DENTAL"}, {"insurance_type": 999}, {"version": 0},
    {"effective_to": date(2025, 1, 1)}, {"deductible_scope": "MONTH"},
])
def test_invalid_policy_is_refused(change: dict) -> None:
    with pytest.raises(DomainError) as err:
        dataclasses.replace(policy(), **change)
    assert err.value.reason == "INVALID_ARGUMENT"


def test_from_dict_reads_yuan_strings_and_refuses_floats_and_typos(tmp_path: Path) -> None:
    group = {"id": "G", "version": 1, "region_code": XIAN, "insurance_type": 310,
             "medical_type": "OUTPATIENT", "effective_from": "2026-01-01",
             "deductible_scope": "YEAR", "deductible": "200.50", "fund_ratio_bp": 7000,
             "yearly_cap": "2000", "pooling": True, "account_may_pay_out_of_scope": False,
             "rates": [{"institution_level": "TIER1", "person_type": "RETIRED"}]}
    (loaded,) = PolicyBook.from_dict({"group": [group]})
    assert (loaded.policy_id, loaded.deductible, loaded.yearly_cap) == (
        "G-TIER1-RETIRED", 20050, 200000)
    for bad in ({"deductible": 200.5}, {"deductible": "200.505"}, {"ratio": 7000}):
        with pytest.raises(DomainError):
            PolicyBook.from_dict({"group": [group | bad]})


def test_pharmacy_purchases_share_the_outpatient_counters_and_inpatient_keeps_its_own():
    from medpay_card.domain.policy import counter_group

    assert counter_group("PHARMACY") == counter_group("OUTPATIENT") == "OUTPATIENT"
    assert counter_group("INPATIENT") == "INPATIENT"
