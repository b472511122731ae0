"""medpay card service: insured persons, cards, QR codes, personal accounts and benefits."""
