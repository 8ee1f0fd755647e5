#!/usr/bin/env python
import os
import sys


def main() -> None:
    if sys.version_info < (3, 12):  # noqa: UP036 - a clear message for the wrong interpreter
        sys.exit(
            f"MFA Helpdesk needs Python 3.12 or newer; this is {sys.version.split()[0]}. "
            "Use the project's virtualenv (.venv/bin/python), which `make run` creates."
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
