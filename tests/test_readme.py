"""README.rst stays valid reStructuredText and documents every setting."""

from pathlib import Path

import docutils.core

from drf_scim.settings import DEFAULTS

README = (Path(__file__).resolve().parent.parent / "README.rst").read_text()


def test_readme_renders_without_warnings():
    docutils.core.publish_string(
        README, writer="null", settings_overrides={"halt_level": 2, "report_level": 2, "traceback": True}
    )


def test_every_setting_is_documented():
    missing = [name for name in DEFAULTS if f"``{name}``" not in README]
    assert missing == []


def test_security_page_renders_without_warnings():
    security = (Path(__file__).resolve().parent.parent / "SECURITY.rst").read_text()
    docutils.core.publish_string(
        security, writer="null", settings_overrides={"halt_level": 2, "report_level": 2, "traceback": True}
    )
