#!/usr/bin/env python
"""Django's command-line utility for the registry."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_project.settings")
    from django.core.management import execute_from_command_line

    from registry_project.config import ConfigurationError

    try:
        execute_from_command_line(sys.argv)
    except ConfigurationError as exc:
        sys.exit(f"configuration error: {exc}")


if __name__ == "__main__":
    main()
