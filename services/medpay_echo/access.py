"""Who may call the echo benchmark service (see ``medpay_kit.access``).

``echo`` is the benchmark's own certificate: only this service recognises it as a
service caller; the production services treat it like any unknown certificate.
"""

from __future__ import annotations

from medpay_kit.access import PRODUCTION_SERVICES, ServiceAccess, Who, grant

ACCESS = ServiceAccess(
    service="medpay.echo.v1.EchoService", name="echo",
    subjects_in="medpay_echo.app", subjects={},
    # the framework's ceiling: any medpay certificate (the kit's recognition) and operators
    rpcs={"Echo": (grant(Who.OPERATOR, Who.ECHO, *(Who(s) for s in sorted(PRODUCTION_SERVICES))),)},
    identities=PRODUCTION_SERVICES | {"echo"},
)
