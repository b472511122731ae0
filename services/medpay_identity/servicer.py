"""The gRPC face of identity: who is calling, then one use case per RPC."""

from __future__ import annotations

import grpc

from medpay.identity.v1 import identity_pb2 as pb
from medpay.identity.v1 import identity_pb2_grpc
from medpay_identity.usecases import assertions, counter, enrol, face_auth, keys, queries
from medpay_identity.usecases.context import IdentityContext
from medpay_kit.auth import current_caller

SERVICE = "medpay.identity.v1.IdentityService"

Ctx = grpc.aio.ServicerContext


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, ctx: IdentityContext) -> None:
        self._ctx = ctx

    async def EnrollPerson(self, request: pb.EnrollPersonRequest, context: Ctx) -> pb.EnrollPersonResponse:
        return await enrol.enrol_person(self._ctx, current_caller(), request)

    async def GetPerson(self, request: pb.GetPersonRequest, context: Ctx) -> pb.GetPersonResponse:
        return await queries.get_person(self._ctx, request.person_id)

    async def StartFaceAuth(self, request: pb.StartFaceAuthRequest, context: Ctx) -> pb.StartFaceAuthResponse:
        return await face_auth.start_face_auth(self._ctx, current_caller(), request)

    async def CompleteFaceAuth(self, request: pb.CompleteFaceAuthRequest,
                               context: Ctx) -> pb.CompleteFaceAuthResponse:
        return await face_auth.complete_face_auth(self._ctx, current_caller(), request)

    async def ConfirmIdentityAtCounter(self, request: pb.ConfirmIdentityAtCounterRequest,
                                       context: Ctx) -> pb.ConfirmIdentityAtCounterResponse:
        return await counter.confirm_at_counter(self._ctx, current_caller(), request)

    async def VerifyAssertion(self, request: pb.VerifyAssertionRequest,
                              context: Ctx) -> pb.VerifyAssertionResponse:
        return await assertions.verify_assertion(self._ctx, current_caller(), request)

    async def GetSigningKeys(self, request: pb.GetSigningKeysRequest,
                             context: Ctx) -> pb.GetSigningKeysResponse:
        return await keys.get_signing_keys(self._ctx)

    async def RotateSigningKey(self, request: pb.RotateSigningKeyRequest,
                               context: Ctx) -> pb.RotateSigningKeyResponse:
        return await keys.rotate_signing_key(self._ctx, current_caller(), request)

    async def ListAuditEvents(self, request: pb.ListAuditEventsRequest,
                              context: Ctx) -> pb.ListAuditEventsResponse:
        return await queries.list_audit_events(self._ctx, request)
