from medpay_billing.adapters.tables import metadata
from medpay_kit.migrations import run_env

run_env(metadata)
