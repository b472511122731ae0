from medpay_echo.app import metadata
from medpay_kit.migrations import run_env

run_env(metadata)
