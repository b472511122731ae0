from medpay_echo.app import EchoSettings, build
from medpay_kit.server import run

run(EchoSettings, "echo", build)
