"""``medpay``: the command line for the people around the system.

    medpay run                      start all four services (what `make run` does)
    medpay serve card               run one service in the foreground (containers)
    medpay admin …                  the insurance agency's operator
    medpay pos …                    a pharmacy till
    medpay his …                    a hospital information system
    medpay app …                    the insured person's phone
    medpay demo                     the whole story, end to end
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

import click

from medpay_cli.connect import Session

SERVICES = ("identity", "card", "pharmacy", "billing", "echo")


@click.group(help=__doc__)
@click.option("--pki-dir", type=click.Path(path_type=Path), show_default=True,
              default=lambda: os.environ.get("MEDPAY_PKI_DIR", "var/pki"),
              help="CA, client certificate and credentials.")
@click.pass_context
def cli(ctx: click.Context, pki_dir: Path) -> None:
    ctx.obj = Session(pki_dir)


@cli.command()
@click.argument("service", type=click.Choice(SERVICES))
def serve(service: str) -> None:
    """Run one service in the foreground (configured by MEDPAY_<SERVICE>_* variables)."""
    sys.argv = [f"medpay_{service}"]
    runpy.run_module(f"medpay_{service}", run_name="__main__", alter_sys=True)


@cli.command()
@click.pass_obj
def run(session: Session) -> None:
    """Start identity, card, pharmacy and billing on the embedded default (SQLite in var/)."""
    from medpay_cli.launcher import run_stack

    sys.exit(run_stack(session.pki_dir))


def _register() -> None:
    from medpay_cli import admin, app, demo, his, pos

    for module in (admin, pos, his, app):
        cli.add_command(module.group)
    cli.add_command(demo.demo)


def main() -> None:
    _register()
    cli(prog_name="medpay")


if __name__ == "__main__":
    main()
