"""The thin gRPC face of the pharmacy service: the caller, one use case, the reply."""

from __future__ import annotations

from typing import Any

from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay.pharmacy.v1 import pharmacy_pb2_grpc
from medpay_kit.auth import current_caller
from medpay_pharmacy.usecases.presettle import PreSettle
from medpay_pharmacy.usecases.queries import Queries
from medpay_pharmacy.usecases.reconcile import Reconcile
from medpay_pharmacy.usecases.registry import Registry
from medpay_pharmacy.usecases.settle import Settle
from medpay_pharmacy.usecases.undo import Undo

Ctx = Any  # grpc.aio.ServicerContext


class PharmacyServicer(pharmacy_pb2_grpc.PharmacyServiceServicer):
    def __init__(self, registry: Registry, presettle: PreSettle, settle: Settle, undo: Undo,
                 queries: Queries, reconcile: Reconcile) -> None:
        self._registry = registry
        self._presettle = presettle
        self._settle = settle
        self._undo = undo
        self._queries = queries
        self._reconcile = reconcile

    async def RegisterPharmacy(self, request: pb.RegisterPharmacyRequest, context: Ctx):
        return await self._registry.register_pharmacy(current_caller(), request)

    async def RegisterTerminal(self, request: pb.RegisterTerminalRequest, context: Ctx):
        return await self._registry.register_terminal(current_caller(), request)

    async def ImportCatalogue(self, request: pb.ImportCatalogueRequest, context: Ctx):
        return await self._registry.import_catalogue(current_caller(), request)

    async def ListCatalogue(self, request: pb.ListCatalogueRequest, context: Ctx):
        return await self._registry.list_catalogue(current_caller(), request)

    async def PreSettle(self, request: pb.PreSettleRequest, context: Ctx):
        return await self._presettle(current_caller(), request)

    async def Settle(self, request: pb.SettleRequest, context: Ctx):
        return await self._settle(current_caller(), request)

    async def CancelSettlement(self, request: pb.CancelSettlementRequest, context: Ctx):
        return await self._undo.cancel(current_caller(), request)

    async def ReverseByRequestId(self, request: pb.ReverseByRequestIdRequest, context: Ctx):
        return await self._undo.reverse(current_caller(), request)

    async def RefundLines(self, request: pb.RefundLinesRequest, context: Ctx):
        return await self._undo.refund_lines(current_caller(), request)

    async def GetSettlement(self, request: pb.GetSettlementRequest, context: Ctx):
        return await self._queries.get_settlement(current_caller(), request)

    async def ListSettlements(self, request: pb.ListSettlementsRequest, context: Ctx):
        return await self._queries.list_settlements(current_caller(), request)

    async def Reconcile(self, request: pb.ReconcileRequest, context: Ctx):
        return await self._reconcile(current_caller(), request)

    async def ListChannelTransactions(self, request: pb.ListChannelTransactionsRequest,
                                      context: Ctx):
        return await self._queries.list_channel_transactions(current_caller(), request)
