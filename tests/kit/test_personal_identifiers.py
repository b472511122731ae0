"""GB 11643 resident ID numbers and name masking, as pure rules."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medpay_kit.errors import DomainError
from medpay_kit.personal import check_character, mask_name, normalise_id_number

TODAY = date(2026, 3, 1)
SAMPLE = "11010519491231002X"  # the standard's own example


def reason_for(raw: str) -> str:
    with pytest.raises(DomainError) as err:
        normalise_id_number(raw, today=TODAY)
    assert raw.strip()[:6] not in err.value.message or len(raw.strip()) < 6
    return err.value.reason


def test_the_standard_example_is_valid_and_a_lower_case_x_is_normalised():
    assert normalise_id_number(SAMPLE, today=TODAY) == SAMPLE
    assert normalise_id_number(" " + SAMPLE.lower() + " ", today=TODAY) == SAMPLE


def test_the_check_character_follows_mod_11_2():
    assert check_character(SAMPLE[:17]) == "X"
    assert check_character("11010519800101001") == "6"  # sum 116, 116 mod 11 = 6 → "6"


@pytest.mark.parametrize("raw", [
    "", "1101051949123100", "11010519491231002", "11010519491231002XX", "110105194912310021",
    "01010519491231002X", "11010519491302002X", "11010518491231002X", "11010520300101002X",
    "1101051949123100２X", "A1010519491231002X",
])
def test_malformed_numbers_are_refused_as_invalid_id_numbers(raw):
    assert reason_for(raw) == "INVALID_ID_NUMBER"


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_exactly_one_check_character_fits_any_17_digits(first17):
    ok = 0
    for c in "0123456789X":
        try:
            normalise_id_number(first17 + c, today=TODAY)
            ok += 1
        except DomainError:
            pass
    assert ok in (0, 1)  # 0 when the region or birth date is not plausible


@pytest.mark.parametrize(("name", "masked"), [("张三", "张*"), ("欧阳娜娜", "欧***"), ("Li", "L*"),
                                              (" 王 ", "王*"), ("", "")])
def test_names_are_masked_after_the_first_character(name, masked):
    assert mask_name(name) == masked
