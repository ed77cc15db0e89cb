#!/usr/bin/env python
"""Command-line utility of the reference site (django-scim2, the peer); runnable from anywhere."""

import os
import sys
from pathlib import Path


def main() -> None:
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here), str(here.parent)]  # this site, then benchmarks/ for the shared querycount
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reference_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
