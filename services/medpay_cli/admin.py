"""``medpay admin``: the insurance agency's operator."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click
from rich.progress import Progress

from medpay.billing.v1 import billing_pb2
from medpay.card.v1 import card_pb2
from medpay.common.v1 import insurance_pb2, money_pb2
from medpay.identity.v1 import identity_pb2
from medpay.pharmacy.v1 import pharmacy_pb2
from medpay_cli.connect import Session, new_request_id, pass_session, reports_errors
from medpay_cli.render import console, kv_table
from medpay_kit.keyring import Keyring
from medpay_kit.money import parse_decimal, yuan_to_fen

LEVELS = ["COMMUNITY", "TIER1", "TIER2", "TIER3"]


def fen(yuan: str) -> money_pb2.Money:
    return money_pb2.Money(amount_fen=yuan_to_fen(parse_decimal(yuan, max_places=2, allow_zero=True)),
                           currency="CNY")


def level(name: str) -> int:
    return insurance_pb2.InstitutionLevel.Value(f"INSTITUTION_LEVEL_{name}")


@click.group("admin")
def group() -> None:
    """Operator tasks: people, registries, catalogues, keys."""


@group.command()
@click.argument("id_number")
@click.argument("name")
@click.argument("photo", type=click.Path(exists=True, path_type=Path))
@pass_session
@reports_errors
def enroll(session: Session, id_number: str, name: str, photo: Path) -> None:
    """Enrol a person in identity with the reference photo from their ID record."""
    reply = session.stub("identity", session.operator_token()).EnrollPerson(
        identity_pb2.EnrollPersonRequest(
            request_id=new_request_id("enrol"), id_number=id_number, name=name,
            reference_photo=photo.read_bytes(),
            consent=identity_pb2.Consent(given=True, consent_ref="counter-form")))
    console.print(f"person_id {reply.person_id} ({'re-enrolled' if reply.replaced else 'enrolled'})")


@group.command("import-insured")
@click.argument("csv_file", type=click.Path(exists=True, path_type=Path))
@pass_session
@reports_errors
def import_insured(session: Session, csv_file: Path) -> None:
    """Import insured people: person_number,id_number,name,region_code,insurance_types
    (e.g. 310;390),person_type (IN_SERVICE|RETIRED),opening_balance (yuan),identity_person_id."""
    card = session.stub("card", session.operator_token())
    rows = list(csv.DictReader(csv_file.open(encoding="utf-8")))
    created = 0
    with Progress(console=console) as progress:
        task = progress.add_task("importing insured people", total=len(rows))
        for row in rows:
            reply = card.ImportInsured(card_pb2.ImportInsuredRequest(
                request_id=f"import-{row['person_number']}-{row['opening_balance']}",
                person_number=row["person_number"], id_number=row["id_number"], name=row["name"],
                region_code=row["region_code"],
                insurance_types=[int(t) for t in row["insurance_types"].split(";")],
                person_type=insurance_pb2.PersonType.Value(f"PERSON_TYPE_{row['person_type']}"),
                status=card_pb2.INSURED_STATUS_ACTIVE, opening_balance=fen(row["opening_balance"]),
                identity_person_id=row.get("identity_person_id", "")))
            created += reply.created
            progress.advance(task)
    console.print(f"{len(rows)} rows: {created} created, {len(rows) - created} updated")


@group.command()
@click.argument("person_number")
@click.argument("period")
@click.argument("yuan")
@pass_session
@reports_errors
def credit(session: Session, person_number: str, period: str, yuan: str) -> None:
    """Book a monthly personal-account allocation (PERIOD is YYYY-MM)."""
    reply = session.stub("card", session.operator_token()).CreditAccount(card_pb2.CreditAccountRequest(
        request_id=f"credit-{person_number}-{period}", person_number=person_number, period=period,
        amount=fen(yuan)))
    console.print(f"entry {reply.entry_id}, balance {reply.balance_after.amount_fen / 100:.2f}")


@group.command("register-pharmacy")
@click.argument("institution_code")
@click.argument("name")
@click.option("--level", "level_name", type=click.Choice(LEVELS), default="COMMUNITY")
@click.option("--pooling/--no-pooling", default=True, help="outpatient pooling applies here")
@click.option("--region", default="610100")
@pass_session
@reports_errors
def register_pharmacy(session: Session, institution_code: str, name: str, level_name: str,
                      pooling: bool, region: str) -> None:
    """Register a designated pharmacy."""
    reply = session.stub("pharmacy", session.operator_token()).RegisterPharmacy(
        pharmacy_pb2.RegisterPharmacyRequest(
            request_id=f"pharmacy-{institution_code}", institution_code=institution_code,
            name=name, level=level(level_name), outpatient_pooling=pooling, region_code=region))
    state = "registered" if reply.created else "unchanged"
    console.print(f"pharmacy {reply.pharmacy.institution_code} {state}")


@group.command("register-terminal")
@click.argument("institution_code")
@click.argument("label")
@pass_session
@reports_errors
def register_terminal(session: Session, institution_code: str, label: str) -> None:
    """Register a till; prints its credential once (keep it: it is not shown again)."""
    reply = session.stub("pharmacy", session.operator_token()).RegisterTerminal(
        pharmacy_pb2.RegisterTerminalRequest(request_id=new_request_id("terminal"),
                                             institution_code=institution_code, terminal_label=label))
    console.print(kv_table("terminal", [("terminal_id", reply.terminal_id),
                                        ("credential (MEDPAY_POS_TOKEN)", reply.credential)]))


@group.command("import-catalogue")
@click.argument("institution_code")
@click.argument("csv_file", type=click.Path(exists=True, path_type=Path))
@pass_session
def import_catalogue(session: Session, institution_code: str, csv_file: Path) -> None:
    """Import a pharmacy catalogue CSV (the pharmacy's own operator tool, with a progress bar):
    item_code,name,spec,unit_price,price_cap,item_class,pre_self_pay_ratio_bp."""
    from medpay_pharmacy import tools

    sys.exit(tools.main(["import-catalogue", str(csv_file), "--institution", institution_code,
                         "--target", session.target("pharmacy"), "--pki", str(session.pki_dir)]))


@group.command("register-hospital")
@click.argument("institution_code")
@click.argument("name")
@click.option("--level", "level_name", type=click.Choice(LEVELS), default="TIER3")
@click.option("--region", default="610100")
@click.option("--credit-limit", default="1000.00", show_default=True, help="yuan")
@click.option("--grace-days", default=10, show_default=True)
@click.option("--auto-debit/--no-auto-debit", default=True)
@click.option("--blacklist-after", default=30, show_default=True, help="days overdue")
@pass_session
@reports_errors
def register_hospital(session: Session, institution_code: str, name: str, level_name: str,
                      region: str, credit_limit: str, grace_days: int, auto_debit: bool,
                      blacklist_after: int) -> None:
    """Register a hospital with its pay-after-treatment credit settings."""
    reply = session.stub("billing", session.operator_token()).RegisterHospital(
        billing_pb2.RegisterHospitalRequest(
            request_id=f"hospital-{institution_code}", institution_code=institution_code, name=name,
            level=level(level_name), region_code=region,
            credit_settings=billing_pb2.CreditSettings(
                credit_limit=fen(credit_limit), grace_days=grace_days, auto_debit=auto_debit,
                blacklist_after_overdue_days=blacklist_after)))
    state = "registered" if reply.created else "unchanged"
    console.print(f"hospital {reply.hospital.institution_code} {state}")


@group.command("register-his-client")
@click.argument("institution_code")
@click.argument("label")
@pass_session
@reports_errors
def register_his_client(session: Session, institution_code: str, label: str) -> None:
    """Register a HIS integration; prints its credential once."""
    reply = session.stub("billing", session.operator_token()).RegisterHisClient(
        billing_pb2.RegisterHisClientRequest(request_id=new_request_id("his"),
                                             institution_code=institution_code, client_label=label))
    console.print(kv_table("HIS client", [("client_id", reply.client_id),
                                          ("credential (MEDPAY_HIS_TOKEN)", reply.credential)]))


@group.command("confirm-identity")
@click.argument("person_id")
@click.option("--purpose", type=click.Choice(["CARD_ISSUE", "CREDIT_AGREEMENT"]), required=True)
@click.option("--device", "device_id", required=True)
@click.option("--audience", type=click.Choice(["card", "billing"]), required=True)
@pass_session
@reports_errors
def confirm_identity(session: Session, person_id: str, purpose: str, device_id: str,
                     audience: str) -> None:
    """The non-face fallback: confirm a person at the counter and issue their assertion."""
    reply = session.stub("identity", session.operator_token()).ConfirmIdentityAtCounter(
        identity_pb2.ConfirmIdentityAtCounterRequest(
            request_id=new_request_id("counter"), person_id=person_id,
            purpose=insurance_pb2.FacePurpose.Value(f"FACE_PURPOSE_{purpose}"),
            device_id=device_id, audience=audience, operator_note="ID document checked"))
    console.print(reply.assertion)


@group.command("rotate-signing-key")
@pass_session
@reports_errors
def rotate_signing_key(session: Session) -> None:
    """Make a new identity-assertion signing key active (old keys keep verifying)."""
    reply = session.stub("identity", session.operator_token()).RotateSigningKey(
        identity_pb2.RotateSigningKeyRequest(request_id=new_request_id("rotate")))
    console.print(f"signing key {reply.key_id} active (was {reply.previous_key_id})")


@group.command("rotate-data-key")
@click.argument("keyring_file", type=click.Path(exists=True, path_type=Path))
def rotate_data_key(keyring_file: Path) -> None:
    """Add a new key for personal data at rest to a service's keyring (restart the service)."""
    console.print(f"new active key {Keyring.rotate(keyring_file)} in {keyring_file}")
