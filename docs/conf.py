"""Sphinx configuration of drf_scim's documentation: ``make docs`` builds it into build/docs/ (warnings are errors)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

project = "drf_scim"
author = "drf_scim contributors"
copyright = "drf_scim contributors"
release = version = re.search(r'__version__ = "([^"]+)"', (ROOT / "drf_scim" / "__init__.py").read_text())[1]

extensions: list[str] = []
exclude_patterns = ["_build"]
highlight_language = "none"

html_theme = "furo"
html_title = f"drf_scim {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
