"""``python -m medpay_billing``: the billing service (pay-after-treatment hospital billing)."""
from medpay_billing.app import build
from medpay_billing.settings import BillingSettings
from medpay_kit.server import run

run(BillingSettings, "billing", build)
