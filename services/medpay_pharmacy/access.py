"""Who may call which pharmacy RPC, and on which subjects (see ``medpay_kit.access``).

No medpay service calls pharmacy: tills settle for their own pharmacy, operators register
and audit.
"""

from __future__ import annotations

from medpay_kit.access import ServiceAccess, Who, grant

W = Who
OWN = grant(W.POS, subject="pharmacy_of")
ACCESS = ServiceAccess(
    service="medpay.pharmacy.v1.PharmacyService", name="pharmacy",
    subjects_in="medpay_pharmacy.usecases.deps",
    subjects={
        "pharmacy_of": "the till's own pharmacy: its catalogue, settlements and reconciliation "
                       "(another pharmacy's settlement is SETTLEMENT_NOT_FOUND)",
    },
    rpcs={
        "RegisterPharmacy": (grant(W.OPERATOR),),
        "RegisterTerminal": (grant(W.OPERATOR),),
        "ImportCatalogue": (grant(W.OPERATOR),),
        "ListCatalogue": (OWN, grant(W.OPERATOR)),
        "PreSettle": (OWN,),
        "Settle": (OWN,),
        "CancelSettlement": (OWN,),
        "ReverseByRequestId": (OWN,),
        "RefundLines": (OWN,),
        "GetSettlement": (OWN, grant(W.OPERATOR)),
        "ListSettlements": (OWN, grant(W.OPERATOR)),
        "Reconcile": (OWN, grant(W.OPERATOR)),
        "ListChannelTransactions": (grant(W.OPERATOR),),
    },
)
