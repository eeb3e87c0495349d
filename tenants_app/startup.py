"""What ``manage.py bootstrap`` does besides migrating and making the default tenant: steps other apps add.

Apps above tenancy (the demo tenant of ``demo_app``) register a step when they load (``AppConfig.ready``);
``bootstrap`` runs them in that order after the default tenant exists and prints what each returns.
"""

from __future__ import annotations

from collections.abc import Callable

# A step returns the lines to print (none: nothing worth saying).
BootstrapStep = Callable[[], list[str]]
_steps: list[BootstrapStep] = []


def on_bootstrap(step: BootstrapStep) -> None:
    if step not in _steps:
        _steps.append(step)


def run_steps() -> list[str]:
    return [line for step in _steps for line in step()]
