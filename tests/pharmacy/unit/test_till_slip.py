"""The till's slip: every part printed in yuan, columns aligned with CJK taking two columns."""

from __future__ import annotations

from medpay_pharmacy.domain.receipt import WIDTH, Slip, SlipLine, SlipRefund, _width, render


def slip(**change) -> Slip:
    base = dict(
        pharmacy="P61010000001", terminal_id="T1", settlement_id="ST1", request_id="m" * 60,
        status="COMPLETED", business_date="2025-03-01", settled_at="2025-03-01 10:00:00",
        masked_name="张*", insurance_type="310", issuer_reference="setl_1",
        channel_transaction_id="ST1-C", failure_reason="",
        lines=[SlipLine(1, "XA1", "阿莫西林胶囊", "A", "2", "12.50", 2500, 0),
               SlipLine(2, "XC1", "维生素C片", "C", "1", "4.50", 450, 450)],
        total=2950, over_limit=0, full_self_pay=450, pre_self_pay=0, in_scope=2500,
        deductible=2500, fund_pay=0, account_pay=2500, cash_pay=450, balance_after=97500)
    return Slip(**{**base, **change})


def test_every_line_fits_the_paper_and_amounts_are_yuan():
    text = render(slip())
    assert all(_width(row) <= WIDTH for row in text.splitlines())
    assert "29.50" in text and "975.00" in text and "4.50" in text
    assert "m" * 44 in text and "m" * 16 in text  # a long value wraps onto lines of its own


def test_failures_and_refunds_are_printed():
    text = render(slip(status="FAILED", failure_reason="CHANNEL_DECLINED",
                       refunds=[SlipRefund("RF1", "CASH", "2025-03-01", 450, 0, 0, 450)]))
    assert "CHANNEL_DECLINED" in text and "Refund CASH" in text and "0.00 / 0.00 / 4.50" in text
