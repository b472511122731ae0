"""Who may call which identity RPC, and on which subjects (see ``medpay_kit.access``)."""

from __future__ import annotations

from medpay_kit.access import ServiceAccess, Who, grant

W = Who
ACCESS = ServiceAccess(
    service="medpay.identity.v1.IdentityService", name="identity",
    subjects_in="medpay_identity.usecases.assertions",
    subjects={
        "addressed_to_caller": "only assertions whose audience is the calling service",
    },
    rpcs={
        "EnrollPerson": (grant(W.OPERATOR),),
        "GetPerson": (grant(W.OPERATOR),),
        "StartFaceAuth": (grant(W.APP_CLIENT),),
        "CompleteFaceAuth": (grant(W.APP_CLIENT),),
        "ConfirmIdentityAtCounter": (grant(W.OPERATOR),),
        # card consumes CARD_ISSUE assertions, billing CREDIT_AGREEMENT ones
        "VerifyAssertion": (grant(W.CARD, W.BILLING, subject="addressed_to_caller"),),
        # public keys: the verifiers (card, billing); the app and operators checking offline
        "GetSigningKeys": (grant(W.APP_CLIENT, W.OPERATOR, W.CARD, W.BILLING),),
        "RotateSigningKey": (grant(W.OPERATOR),),
        "ListAuditEvents": (grant(W.OPERATOR),),
    },
)
