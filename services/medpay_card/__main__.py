from medpay_card.app import build
from medpay_card.settings import CardSettings
from medpay_kit.server import run

run(CardSettings, "card", build)
