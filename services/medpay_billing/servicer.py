"""The gRPC servicer: thin — each RPC calls one use case with the request."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from medpay.billing.v1 import billing_pb2 as pb
from medpay.billing.v1 import billing_pb2_grpc
from medpay_billing.usecases import (
    agreements,
    appointments,
    bills,
    charges,
    closing,
    feed,
    refunds,
    registry,
    visits,
)
from medpay_billing.usecases.deps import Deps

Ctx = grpc.aio.ServicerContext


class BillingServicer(billing_pb2_grpc.BillingServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self._d = deps

    async def RegisterHospital(self, request: pb.RegisterHospitalRequest, context: Ctx):
        return await registry.register_hospital(self._d, request)

    async def RegisterHisClient(self, request: pb.RegisterHisClientRequest, context: Ctx):
        return await registry.register_his_client(self._d, request)

    async def EnrollCreditCare(self, request: pb.EnrollCreditCareRequest, context: Ctx):
        return await agreements.enroll(self._d, request)

    async def GetCreditAgreement(self, request: pb.GetCreditAgreementRequest, context: Ctx):
        return await agreements.get(self._d, request)

    async def BookAppointment(self, request: pb.BookAppointmentRequest, context: Ctx):
        return await appointments.book(self._d, request)

    async def CancelAppointment(self, request: pb.CancelAppointmentRequest, context: Ctx):
        return await appointments.cancel(self._d, request)

    async def OpenVisit(self, request: pb.OpenVisitRequest, context: Ctx):
        return await visits.open_visit(self._d, request)

    async def PostCharges(self, request: pb.PostChargesRequest, context: Ctx):
        return await charges.post_charges(self._d, request)

    async def CancelCharge(self, request: pb.CancelChargeRequest, context: Ctx):
        return await charges.cancel_charge(self._d, request)

    async def CloseVisit(self, request: pb.CloseVisitRequest, context: Ctx):
        return await closing.close_visit(self._d, request)

    async def GetBill(self, request: pb.GetBillRequest, context: Ctx):
        return await bills.get_bill(self._d, request)

    async def ListBills(self, request: pb.ListBillsRequest, context: Ctx):
        return await bills.list_bills(self._d, request)

    async def PayBill(self, request: pb.PayBillRequest, context: Ctx):
        return await bills.pay_bill(self._d, request)

    async def RefundVisit(self, request: pb.RefundVisitRequest, context: Ctx):
        return await refunds.refund_visit(self._d, request)

    async def ListVisits(self, request: pb.ListVisitsRequest, context: Ctx):
        return await visits.list_visits(self._d, request)

    async def WatchVisitEvents(self, request: pb.WatchVisitEventsRequest,
                               context: Ctx) -> AsyncIterator[pb.WatchVisitEventsResponse]:
        async for item in feed.watch(self._d, request):
            yield item
