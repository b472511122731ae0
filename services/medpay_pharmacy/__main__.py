"""``python -m medpay_pharmacy``: the pharmacy service (POS settlement for designated pharmacies)."""
from medpay_kit.server import run
from medpay_pharmacy.app import build
from medpay_pharmacy.settings import PharmacySettings

run(PharmacySettings, "pharmacy", build)
