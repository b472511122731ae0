"""Between the domain's names and the contract's enums (``FACE_PURPOSE_CARD_ISSUE`` ...)."""

from __future__ import annotations

from medpay.common.v1 import errors_pb2, insurance_pb2
from medpay.identity.v1 import identity_pb2
from medpay_identity.domain.decision import Decision
from medpay_identity.domain.liveness import LivenessAction
from medpay_identity.domain.session import AUDIENCES, Purpose
from medpay_kit.errors import DomainError


def purpose_from_proto(value: int) -> Purpose:
    name = insurance_pb2.FacePurpose.Name(value) if value in insurance_pb2.FacePurpose.values() else ""
    try:
        return Purpose(name.removeprefix("FACE_PURPOSE_"))
    except ValueError:
        raise DomainError("INVALID_ARGUMENT", "purpose must be CARD_ISSUE, CREDIT_AGREEMENT or "
                          "STEP_UP_PAYMENT", field="purpose") from None


def purpose_to_proto(purpose: str) -> int:
    return insurance_pb2.FacePurpose.Value(f"FACE_PURPOSE_{purpose}") if purpose else 0


def method_to_proto(method: str) -> int:
    return identity_pb2.AssertionMethod.Value(f"ASSERTION_METHOD_{method}")


def action_to_proto(action: LivenessAction) -> int:
    return identity_pb2.LivenessAction.Value(f"LIVENESS_ACTION_{action.value}")


def reason_to_proto(reason: str) -> int:
    return errors_pb2.ErrorReason.Value(f"ERROR_REASON_{reason}") if reason else 0


def audit_kind_to_proto(kind: str) -> int:
    return identity_pb2.AuditEventKind.Value(f"AUDIT_EVENT_KIND_{kind}")


def audit_kind_from_proto(value: int) -> str:
    if value not in identity_pb2.AuditEventKind.values():
        raise DomainError("INVALID_ARGUMENT", "unknown audit event kind", field="kind")
    return "" if value == 0 else identity_pb2.AuditEventKind.Name(value).removeprefix("AUDIT_EVENT_KIND_")


def decision_to_proto(d: Decision) -> identity_pb2.FaceDecision:
    return identity_pb2.FaceDecision(
        outcome=identity_pb2.FaceOutcome.Value(f"FACE_OUTCOME_{d.outcome.value}"),
        matched=d.matched, distance=d.distance, threshold=d.threshold,
        liveness_passed=d.liveness_passed, liveness_detail=d.liveness_detail)


def check_audience(audience: str) -> str:
    if audience not in AUDIENCES:
        raise DomainError("INVALID_ARGUMENT", f"audience must be one of {', '.join(sorted(AUDIENCES))}",
                          field="audience")
    return audience


def check_device_id(device_id: str) -> str:
    if not device_id or len(device_id) > 128 or not device_id.isprintable() or not device_id.isascii():
        raise DomainError("INVALID_ARGUMENT", "device_id is required (1..128 printable ASCII characters)",
                          field="device_id")
    return device_id
