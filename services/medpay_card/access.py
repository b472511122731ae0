"""Who may call which card RPC, and on which subjects (see ``medpay_kit.access``).

Service rows list exactly today's calls: pharmacy resolves QR codes and settles by the
payment context it got (PreSettle, Settle, undo, Reconcile); billing checks app devices,
reads the card of a patient with an agreement, registers the agreement's mandate and
settles a visit by card under it. Both reconcile their own captures (GetDailyTotals).
"""

from __future__ import annotations

from medpay_kit.access import ServiceAccess, Who, grant

W = Who
ACQUIRERS = (W.PHARMACY, W.BILLING)
ACCESS = ServiceAccess(
    service="medpay.card.v1.CardService", name="card",
    subjects_in="medpay_card.usecases.access",
    subjects={
        "own_card": "the card bound to the app's device credential (another card is CARD_NOT_FOUND)",
        "own_account": "the account of the app's own card",
        "assertion_holder": "the person the CARD_ISSUE assertion is about, checked before any lookup",
        "mandated_card": "a card with an active credit mandate of the calling service at the "
                         "claim's merchant (for GetCard: at any merchant)",
        "consenting_holder": "the card whose holder's own CREDIT_AGREEMENT assertion, made on the "
                             "card's device and addressed to the calling service, is presented",
        "own_mandate": "the calling service's own mandate",
        "merchant_kind_of_caller": "QR codes for the calling service's kind of merchant "
                                   "(pharmacy: pharmacies, billing: hospitals)",
        "context_of_caller": "a payment context resolved by the calling service for the "
                             "claim's merchant, unused and unexpired",
        "own_hold": "a hold the calling service created",
        "own_records": "the calling service's own captures and refunds",
    },
    rpcs={
        "ImportInsured": (grant(W.OPERATOR),),
        "IssueCard": (grant(W.APP_CLIENT, subject="assertion_holder"),),
        "GetCard": (grant(W.OPERATOR), grant(W.APP, subject="own_card"),
                    grant(W.BILLING, subject="mandated_card")),
        "SuspendCard": (grant(W.OPERATOR), grant(W.APP, subject="own_card")),
        "ResumeCard": (grant(W.OPERATOR), grant(W.APP, subject="own_card")),
        "RevokeCard": (grant(W.OPERATOR), grant(W.APP, subject="own_card")),
        "ReissueCard": (grant(W.APP_CLIENT, W.APP, subject="assertion_holder"),),
        "VerifyDeviceCredential": (grant(W.BILLING),),
        "GenerateQrCode": (grant(W.APP, subject="own_card"),),
        "ResolveQrCode": (grant(*ACQUIRERS, subject="merchant_kind_of_caller"),),
        "GetAccount": (grant(W.OPERATOR), grant(W.APP, subject="own_account")),
        "ListAccountEntries": (grant(W.OPERATOR), grant(W.APP, subject="own_account")),
        "CreditAccount": (grant(W.OPERATOR),),
        "PutPolicy": (grant(W.OPERATOR),),
        "ListPolicies": (grant(W.OPERATOR),),
        "Adjudicate": (grant(W.PHARMACY, subject="context_of_caller"),
                       grant(W.BILLING, subject="mandated_card")),
        "Authorize": (grant(W.PHARMACY, subject="context_of_caller"),
                      grant(W.BILLING, subject="mandated_card")),
        "Capture": (grant(*ACQUIRERS, subject="own_hold"),),
        "Void": (grant(*ACQUIRERS, subject="own_hold"),),
        "Refund": (grant(*ACQUIRERS, subject="own_hold"),),
        "GetDailyTotals": (grant(*ACQUIRERS, subject="own_records"),),
        "RegisterCreditMandate": (grant(W.BILLING, subject="consenting_holder"),),
        "WithdrawCreditMandate": (grant(W.BILLING, subject="own_mandate"),),
    },
)
