"""Operators register pharmacies, their tills and catalogues; tills authenticate."""

from __future__ import annotations

import re

from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay_kit.auth import Caller, CallerKind, issue_credential, secret_matches
from medpay_kit.errors import DomainError
from medpay_kit.idempotency import IdempotencyStore
from medpay_pharmacy import mapping
from medpay_pharmacy.adapters import registry as repo
from medpay_pharmacy.adapters.tables import idempotency
from medpay_pharmacy.domain.basket import CatalogueEntry, check_catalogue_entry, parse_price
from medpay_pharmacy.usecases.deps import Deps, new_id, pharmacy_of

INSTITUTION_CODE = re.compile(r"^[A-Z0-9]{12}$")
REGION_CODE = re.compile(r"^\d{6}$")
CREDENTIAL_CONTEXT = b"pharmacy.terminal-credential"


def check_institution_code(code: str) -> None:
    if not INSTITUTION_CODE.match(code):
        raise DomainError("INVALID_ARGUMENT", "institution_code must be 12 letters or digits",
                          field="institution_code")


async def require_pharmacy(session, code: str):  # type: ignore[no-untyped-def]
    row = await repo.get_pharmacy(session, code)
    if row is None:
        raise DomainError("PHARMACY_NOT_FOUND", "no pharmacy with that institution code",
                          field="institution_code")
    return row


class Registry:
    def __init__(self, deps: Deps) -> None:
        self._d = deps
        self._store = IdempotencyStore(idempotency)

    async def register_pharmacy(self, caller: Caller,
                                request: pb.RegisterPharmacyRequest) -> pb.RegisterPharmacyResponse:
        check_institution_code(request.institution_code)
        if not request.name.strip() or len(request.name) > 200:
            raise DomainError("INVALID_ARGUMENT", "name is required (≤ 200 characters)",
                              field="name")
        if request.level == 0:
            raise DomainError("INVALID_ARGUMENT", "level is required", field="level")
        if not REGION_CODE.match(request.region_code):
            raise DomainError("INVALID_ARGUMENT", "region_code must be 6 digits",
                              field="region_code")

        async def work(session) -> pb.RegisterPharmacyResponse:  # type: ignore[no-untyped-def]
            created = await repo.save_pharmacy(session, request.institution_code, {
                "name": request.name.strip(), "level": request.level,
                "outpatient_pooling": request.outpatient_pooling,
                "region_code": request.region_code}, self._d.now())
            row = await repo.get_pharmacy(session, request.institution_code)
            return pb.RegisterPharmacyResponse(pharmacy=mapping.pharmacy(row), created=created)

        return await self._store.run(self._d.db, caller.key, "RegisterPharmacy", request,
                                     pb.RegisterPharmacyResponse, work)

    async def register_terminal(self, caller: Caller,
                                request: pb.RegisterTerminalRequest) -> pb.RegisterTerminalResponse:
        """The credential is kept only hashed; the stored replay holds it encrypted."""
        check_institution_code(request.institution_code)
        if len(request.terminal_label) > 100:
            raise DomainError("INVALID_ARGUMENT", "terminal_label is at most 100 characters",
                              field="terminal_label")

        async def work(session) -> pb.RegisterTerminalResponse:  # type: ignore[no-untyped-def]
            await require_pharmacy(session, request.institution_code)
            now = self._d.now()
            terminal_id = new_id("T", now)
            issued = issue_credential("pos", terminal_id)
            await repo.add_terminal(session, terminal_id, request.institution_code,
                                    request.terminal_label, issued.secret_hash, now)
            sealed = self._d.keyring.encrypt(issued.token.encode(), CREDENTIAL_CONTEXT)
            return pb.RegisterTerminalResponse(terminal_id=terminal_id, credential=sealed.hex())

        stored = await self._store.run(self._d.db, caller.key, "RegisterTerminal", request,
                                       pb.RegisterTerminalResponse, work)
        token = self._d.keyring.decrypt(bytes.fromhex(stored.credential), CREDENTIAL_CONTEXT)
        return pb.RegisterTerminalResponse(terminal_id=stored.terminal_id, credential=token.decode())

    async def resolve_terminal(self, terminal_id: str, secret: str) -> Caller | None:
        """The ``pos`` resolver: a till's credential → its caller, bound to its pharmacy."""
        async with self._d.db.read() as session:
            row = await repo.get_terminal(session, terminal_id)
        if row is None or not secret_matches(secret, row.secret_hash):
            return None
        return Caller(CallerKind.POS, principal=terminal_id, scope=row.institution_code)

    async def import_catalogue(self, caller: Caller,
                               request: pb.ImportCatalogueRequest) -> pb.ImportCatalogueResponse:
        check_institution_code(request.institution_code)
        limit = self._d.settings.max_catalogue_batch
        if not request.items or len(request.items) > limit:
            raise DomainError("INVALID_ARGUMENT", f"send 1..{limit} items per request",
                              field="items")
        entries = [entry_of(item, i) for i, item in enumerate(request.items)]
        if len({e.item_code for e in entries}) != len(entries):
            raise DomainError("INVALID_ARGUMENT", "an item_code appears twice", field="items")

        async def work(session) -> pb.ImportCatalogueResponse:  # type: ignore[no-untyped-def]
            await require_pharmacy(session, request.institution_code)
            created, updated, unchanged = await repo.save_items(
                session, request.institution_code, entries, self._d.now())
            return pb.ImportCatalogueResponse(created_count=created, updated_count=updated,
                                              unchanged_count=unchanged)

        return await self._store.run(self._d.db, caller.key, "ImportCatalogue", request,
                                     pb.ImportCatalogueResponse, work)

    async def list_catalogue(self, caller: Caller,
                             request: pb.ListCatalogueRequest) -> pb.ListCatalogueResponse:
        code = pharmacy_of(caller, request.institution_code)
        size = page_size(request.page_size, 100, 1000)
        async with self._d.db.read() as session:
            await require_pharmacy(session, code)
            items = await repo.list_items(session, code, request.page_token, size + 1)
        more = len(items) > size
        items = items[:size]
        return pb.ListCatalogueResponse(
            items=[mapping.catalogue_item(e) for e in items],
            next_page_token=items[-1].item_code if more else "")


def page_size(requested: int, default: int, cap: int) -> int:
    if requested < 0:
        raise DomainError("INVALID_ARGUMENT", "page_size must not be negative", field="page_size")
    return min(requested or default, cap)


def entry_of(item: pb.CatalogueItem, index: int) -> CatalogueEntry:
    field = f"items[{index}]"
    cls = mapping.CLASS_NAMES.get(item.item_class, "")
    entry = CatalogueEntry(
        item_code=item.item_code.strip(), name=item.name.strip(), spec=item.spec.strip(),
        unit_price=parse_price(item.unit_price, f"{field}.unit_price"),
        price_cap=parse_price(item.price_cap, f"{field}.price_cap") if item.price_cap else None,
        item_class=cls, pre_self_pay_ratio_bp=item.pre_self_pay_ratio_bp)
    check_catalogue_entry(entry, index)
    return entry

