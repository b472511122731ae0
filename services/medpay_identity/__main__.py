"""``python -m medpay_identity``: face-auth identity."""
from medpay_identity.app import build
from medpay_identity.settings import IdentitySettings
from medpay_kit.server import run

run(IdentitySettings, "identity", build)
