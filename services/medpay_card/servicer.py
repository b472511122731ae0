"""The gRPC servicer: thin. Parse and validate the request, call one use case, return its reply."""

from __future__ import annotations

from typing import cast

import grpc

from medpay.card.v1 import card_pb2 as pb
from medpay.card.v1 import card_pb2_grpc
from medpay_card.usecases import (
    accounts,
    card_issue,
    cards,
    claims,
    holds,
    insured,
    mandates,
    policies,
    qr,
    refunds,
    reports,
)
from medpay_card.usecases.deps import Deps
from medpay_card.wire import enums, parse, parse_claims
from medpay_card.wire import fields as f
from medpay_kit.auth import current_caller

Ctx = grpc.aio.ServicerContext


class CardServicer(card_pb2_grpc.CardServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self._d = deps

    @property
    def _max_lines(self) -> int:
        return self._d.settings.max_claim_lines

    # --- insured persons and cards ---------------------------------------------------

    async def ImportInsured(self, request: pb.ImportInsuredRequest, context: Ctx):
        return await insured.import_insured(self._d, current_caller(),
                                            parse.import_insured(request, today=self._d.clock.today()),
                                            request)

    async def IssueCard(self, request: pb.IssueCardRequest, context: Ctx):
        caller, command = current_caller(), parse.issue_card(request)
        return await card_issue.first_of_twins(
            self._d, caller, command.device_id, "IssueCard", request, pb.IssueCardResponse,
            lambda: card_issue.issue_card(self._d, caller, command, request))

    async def ReissueCard(self, request: pb.ReissueCardRequest, context: Ctx):
        caller, command = current_caller(), parse.reissue_card(request)
        return await card_issue.first_of_twins(
            self._d, caller, command.device_id, "ReissueCard", request, pb.ReissueCardResponse,
            lambda: card_issue.reissue_card(self._d, caller, command, request))

    async def GetCard(self, request: pb.GetCardRequest, context: Ctx):
        return await cards.get_card(self._d, current_caller(), f.opaque_id(request.card_id, "card_id"))

    async def SuspendCard(self, request: pb.SuspendCardRequest, context: Ctx):
        return await cards.change_status(self._d, current_caller(), "SuspendCard",
                                         parse.change_status(request), request, pb.SuspendCardResponse)

    async def ResumeCard(self, request: pb.ResumeCardRequest, context: Ctx):
        return await cards.change_status(self._d, current_caller(), "ResumeCard",
                                         parse.change_status(request), request, pb.ResumeCardResponse)

    async def RevokeCard(self, request: pb.RevokeCardRequest, context: Ctx):
        return await cards.change_status(self._d, current_caller(), "RevokeCard",
                                         parse.change_status(request), request, pb.RevokeCardResponse)

    async def VerifyDeviceCredential(self, request: pb.VerifyDeviceCredentialRequest, context: Ctx):
        return await cards.verify_device_credential(self._d, request.credential)

    # --- QR codes ----------------------------------------------------------------------

    async def GenerateQrCode(self, request: pb.GenerateQrCodeRequest, context: Ctx):
        return await qr.generate(self._d, current_caller(), request)

    async def ResolveQrCode(self, request: pb.ResolveQrCodeRequest, context: Ctx):
        return await qr.resolve(self._d, current_caller(), parse.resolve_qr(request), request)

    # --- accounts ----------------------------------------------------------------------

    async def GetAccount(self, request: pb.GetAccountRequest, context: Ctx):
        return await accounts.get_account(self._d, current_caller(), parse.owner(request),
                                          request.year)

    async def ListAccountEntries(self, request: pb.ListAccountEntriesRequest, context: Ctx):
        return await accounts.list_entries(self._d, current_caller(), parse.owner(request),
                                           f.page_size(request.page_size), request.page_token)

    async def CreditAccount(self, request: pb.CreditAccountRequest, context: Ctx):
        return await accounts.credit_account(self._d, current_caller(),
                                             parse.credit_account(request), request)

    # --- policies ----------------------------------------------------------------------

    async def PutPolicy(self, request: pb.PutPolicyRequest, context: Ctx):
        return await policies.put_policy(self._d, current_caller(), parse.policy(request.policy),
                                         request)

    async def ListPolicies(self, request: pb.ListPoliciesRequest, context: Ctx):
        scheme = (None if not request.insurance_type else cast(
            int, enums.parse(enums.INSURANCE_TYPES, request.insurance_type, "insurance_type")))
        medical = (None if not request.medical_type else cast(
            str, enums.parse(enums.MEDICAL_TYPES, request.medical_type, "medical_type")))
        region = f.region_code(request.region_code) if request.region_code else None
        return await policies.list_policies(
            self._d, page_size=f.page_size(request.page_size), page_token=request.page_token,
            region=region, insurance_type=scheme, medical_type=medical)

    # --- claims and holds --------------------------------------------------------------

    async def Adjudicate(self, request: pb.AdjudicateRequest, context: Ctx):
        return await claims.adjudicate_claim(self._d, current_caller(),
                                             parse_claims.claim(request, self._max_lines))

    async def Authorize(self, request: pb.AuthorizeRequest, context: Ctx):
        return await holds.authorize(self._d, current_caller(),
                                     parse_claims.claim(request, self._max_lines), request)

    async def Capture(self, request: pb.CaptureRequest, context: Ctx):
        return await holds.capture(self._d, current_caller(),
                                   f.opaque_id(request.hold_id, "hold_id"), request)

    async def Void(self, request: pb.VoidRequest, context: Ctx):
        f.text(request.reason, "reason", max_len=200)
        return await holds.void(self._d, current_caller(), f.opaque_id(request.hold_id, "hold_id"),
                                request)

    async def Refund(self, request: pb.RefundRequest, context: Ctx):
        return await refunds.refund(self._d, current_caller(), parse.refund(request), request)

    async def GetDailyTotals(self, request: pb.GetDailyTotalsRequest, context: Ctx):
        return await reports.daily_totals(self._d, current_caller(), parse.daily_totals(request))

    # --- credit mandates ---------------------------------------------------------------

    async def RegisterCreditMandate(self, request: pb.RegisterCreditMandateRequest, context: Ctx):
        return await mandates.register(self._d, current_caller(), request)

    async def WithdrawCreditMandate(self, request: pb.WithdrawCreditMandateRequest, context: Ctx):
        return await mandates.withdraw(self._d, current_caller(), request)

