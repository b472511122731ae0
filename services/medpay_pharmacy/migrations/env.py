from medpay_kit.migrations import run_env
from medpay_pharmacy.adapters.tables import metadata

run_env(metadata)
