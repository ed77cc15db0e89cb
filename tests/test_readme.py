"""README.rst, SECURITY.rst and CHANGELOG.rst are valid reStructuredText for docutils alone (PyPI and GitHub render
them without Sphinx); the settings reference is held to the code by tests/test_docs.py."""

import re
from pathlib import Path

import docutils.core

README = (Path(__file__).resolve().parent.parent / "README.rst").read_text()


def test_readme_renders_without_warnings():
    docutils.core.publish_string(
        README, writer="null", settings_overrides={"halt_level": 2, "report_level": 2, "traceback": True}
    )


def test_security_page_renders_without_warnings():
    security = (Path(__file__).resolve().parent.parent / "SECURITY.rst").read_text()
    docutils.core.publish_string(
        security, writer="null", settings_overrides={"halt_level": 2, "report_level": 2, "traceback": True}
    )


def test_every_test_security_names_exists():
    """Each guarantee names the tests that hold it: those names must be real tests."""
    root = Path(__file__).resolve().parent.parent
    security = (root / "SECURITY.rst").read_text()
    sources = {path.relative_to(root).as_posix(): path.read_text() for path in (root / "tests").glob("test_*.py")}
    everything = "\n".join(sources.values())
    references = re.findall(r"``((?:tests/[\w/]+\.py)?(?:::)?(?:\w+::)*\w+)``", security)
    checked = 0
    for reference in references:
        path, _, names = reference.partition("::") if reference.startswith("tests/") else ("", "", reference)
        if path:
            assert path in sources, reference
        if not names or not (names.startswith(("Test", "test_")) or "::" in names):
            continue
        text = sources[path] if path else everything
        for name in names.split("::"):
            assert re.search(rf"^\s*(?:def|class) {name}\b", text, re.M), reference
        checked += 1
    assert checked >= 20


def test_changelog_renders_and_has_an_unreleased_section():
    changelog = (Path(__file__).resolve().parent.parent / "CHANGELOG.rst").read_text()
    docutils.core.publish_string(
        changelog, writer="null", settings_overrides={"halt_level": 2, "report_level": 2, "traceback": True}
    )
    assert "\nUnreleased\n----------\n" in changelog
