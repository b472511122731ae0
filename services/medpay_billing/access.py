"""Who may call which billing RPC, and on which subjects (see ``medpay_kit.access``).

No medpay service calls billing: a HIS acts for its own hospital, an app for its own card,
operators register hospitals and HIS clients.
"""

from __future__ import annotations

from medpay_kit.access import ServiceAccess, Who, grant

W = Who
HIS_VISIT = grant(W.HIS, subject="visit_for")
APP_CARD = grant(W.APP, subject="own_card")
ACCESS = ServiceAccess(
    service="medpay.billing.v1.BillingService", name="billing",
    subjects_in="medpay_billing.usecases.scope",
    subjects={
        "hospital_of": "the HIS's own hospital",
        "visit_for": "a visit at the HIS's own hospital (another is VISIT_NOT_FOUND)",
        "bill_for": "a bill of the HIS's hospital, or of the app's card (another is BILL_NOT_FOUND)",
        "own_card": "the card bound to the app's device credential (its agreements, "
                    "appointments and bills)",
    },
    rpcs={
        "RegisterHospital": (grant(W.OPERATOR),),
        "RegisterHisClient": (grant(W.OPERATOR),),
        "EnrollCreditCare": (APP_CARD,),
        "GetCreditAgreement": (APP_CARD,),
        "BookAppointment": (APP_CARD,),
        "CancelAppointment": (APP_CARD,),
        "OpenVisit": (grant(W.HIS, subject="hospital_of"),),
        "PostCharges": (HIS_VISIT,),
        "CancelCharge": (HIS_VISIT,),
        "CloseVisit": (HIS_VISIT,),
        "GetBill": (grant(W.HIS, W.APP, subject="bill_for"), grant(W.OPERATOR)),
        "ListBills": (APP_CARD,),
        "PayBill": (grant(W.APP, subject="bill_for"),),
        "RefundVisit": (HIS_VISIT,),
        "ListVisits": (grant(W.HIS, subject="hospital_of"),),
        "WatchVisitEvents": (grant(W.HIS, subject="hospital_of"),),
    },
)
