"""The one command line: `hardtofill generate | train | serve | monitor | promote | rollback | strays | keys`.

Each domain package contributes its commands through `<package>/cli.py:register(app)`, so that a
package owns its commands; heavy libraries are imported inside the commands, never here.
"""

import importlib
import importlib.util

import typer

from hardtofill.telemetry import switch_off_telemetry

app = typer.Typer(
    name="hardtofill",
    help="Spot job offers that will take more than 30 days to fill, early enough to act.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

DOMAIN_PACKAGES = ("features", "training", "serving", "monitoring")


@app.callback()
def main() -> None:
    """hardtofill: advice for advisers, never a decision."""
    switch_off_telemetry()


def _register_domain_commands() -> None:
    for package in DOMAIN_PACKAGES:
        if importlib.util.find_spec(f"{package}.cli") is not None:
            importlib.import_module(f"{package}.cli").register(app)


_register_domain_commands()
