"""Ask a medpay service whether it is SERVING, over mTLS: ``python -m medpay_kit.healthcheck``.

Used by ``make run`` to wait for the stack, by container health checks and by Kubernetes
exec probes (the kubelet's native gRPC probe cannot present a client certificate).
Exit status 0 when SERVING, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from medpay_kit.client import blocking_channel


def is_serving(target: str, pki_dir: Path, identity: str = "client", timeout: float = 2.0) -> bool:
    try:
        with blocking_channel(target, pki_dir, identity=identity) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                              timeout=timeout)
        return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


def wait_serving(target: str, pki_dir: Path, timeout: float, identity: str = "client") -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_serving(target, pki_dir, identity):
            return True
        time.sleep(0.2)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", help="host:port of the service")
    parser.add_argument("--pki-dir", type=Path, default=Path("var/pki"))
    parser.add_argument("--identity", default="client", help="certificate to present")
    parser.add_argument("--wait", type=float, default=0.0, help="keep trying for this many seconds")
    args = parser.parse_args()
    ok = (wait_serving(args.target, args.pki_dir, args.wait, args.identity) if args.wait
          else is_serving(args.target, args.pki_dir, args.identity))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
