"""The package stays easy to read: small modules, and Django's private API in one adapter."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "drf_scim"
MAX_MODULE_LINES = 500


def modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts)


def test_no_module_of_drf_scim_is_over_500_lines():
    long = {str(path.relative_to(PACKAGE)): n for path in modules() if (n := len(path.read_text().splitlines())) > 500}
    assert long == {}


def test_only_django_internals_touches_private_django_attributes():
    # The private names of Django's ORM drf_scim relies on; each use goes through drf_scim.django_internals.
    private = re.compile(
        r"\._(result_cache|defer_next_filter|prefetched_objects_cache)\b|\._state\.fields_cache\b"
        r"|\.query\.(annotations|has_filters|values_select|chain|clone)\b|\.get_compiler\("
    )
    users = [str(path.relative_to(PACKAGE)) for path in modules() if private.search(path.read_text())]
    assert users == ["django_internals.py"]
