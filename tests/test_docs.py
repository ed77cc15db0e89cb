"""The code examples of README.rst and docs/ work as written, and the reference pages match the code.

``make docs`` builds every page with Sphinx (warnings are errors); these tests check what a build cannot: that
Python blocks compile and import what they name, JSON parses, ``manage.py`` and ``make`` lines name commands and
options that exist, the settings and commands references list exactly what the code has, and the tests a page
names exist. tests/test_tutorial.py runs the tutorial itself.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import textwrap

import docutils.nodes
import pytest
from django.core.management import get_commands, load_command_class
from django.core.management.base import CommandError
from django.utils.module_loading import import_string

from drf_scim.settings import DEFAULTS
from tests.docs import DOCS, README, ROOT, Block, blocks, commands, doctree, pages

ALL_BLOCKS = [block for page in pages() for block in blocks(page)]
# Packages a block may import from: the rest (myapp, myproject...) are the reader's own.
CHECKED_PACKAGES = {"drf_scim", "django", "rest_framework", "oauth2_provider", "django_filters", "drf_spectacular"}
# Options every Django command has, documented by Django.
DJANGO_OPTIONS = {"--help", "--version", "--verbosity", "--settings", "--pythonpath", "--traceback", "--no-color"}
DJANGO_OPTIONS |= {"--force-color", "--skip-checks"}


def of_language(*languages: str) -> list[Block]:
    return [block for block in ALL_BLOCKS if block.language in languages]


def shell_lines() -> list[tuple[Block, list[str]]]:
    return [(block, words) for block in of_language("shell") for words in commands(block)]


def test_every_page_has_code_blocks_of_known_languages():
    assert {block.language for block in ALL_BLOCKS} <= {"python", "shell", "json", "text"}
    assert len(of_language("python")) >= 20 and len(of_language("shell")) >= 20 and len(of_language("json")) >= 5


# -- the settings and commands references ------------------------------------------------------------------


def documented_settings() -> dict[str, list[str]]:
    """Each term of the settings reference and the text of its default (inline, or the block after it)."""
    found: dict[str, list[str]] = {}
    for item in doctree(DOCS / "reference" / "settings.rst").findall(docutils.nodes.definition_list_item):
        name = item.children[0].astext()
        definition = item.children[-1]
        first = definition.children[0]
        assert first.astext().startswith("Default:"), name
        literals = [node for node in first.findall(docutils.nodes.literal)]
        default = literals[0].astext() if literals else definition.children[1].astext()
        found.setdefault(name, []).append(default)
    return found


def test_the_settings_reference_lists_every_setting_once_with_its_default():
    documented = documented_settings()
    assert sorted(documented) == sorted(DEFAULTS)
    for name, defaults in documented.items():
        assert len(defaults) == 1, f"{name} is documented {len(defaults)} times"
        assert ast.literal_eval(defaults[0]) == DEFAULTS[name], name


@pytest.mark.parametrize("command", ["scim_token", "scim_adopt"])
def test_the_commands_reference_lists_every_option(command):
    page = (DOCS / "reference" / "commands.rst").read_text()
    parser = load_command_class("drf_scim", command).create_parser("manage.py", command)
    options = {option for action in parser._actions for option in action.option_strings if option.startswith("--")}
    missing = [option for option in sorted(options - DJANGO_OPTIONS) if f"``{option}" not in page]
    assert missing == []
    assert f"\n{command}\n" in page


# -- Python, JSON and shell blocks ------------------------------------------------------------------------------


@pytest.mark.parametrize("block", of_language("python"), ids=str)
def test_python_blocks_compile_and_import_what_they_name(block):
    tree = ast.parse(textwrap.dedent(block.text), filename=str(block))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module.split(".")[0] in CHECKED_PACKAGES:
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}"), (
                    f"{block}: {node.module} has no {alias.name}"
                )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in CHECKED_PACKAGES:
                    importlib.import_module(alias.name)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if re.fullmatch(r"drf_scim(\.\w+)+", node.value):
                import_string(node.value)  # a dotted path the block names, e.g. in DRF_SCIM
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DRF_SCIM" for t in node.targets):
            keys = [key.value for key in node.value.keys if isinstance(key, ast.Constant)]
            assert set(keys) <= set(DEFAULTS), f"{block}: unknown settings {set(keys) - set(DEFAULTS)}"


@pytest.mark.parametrize("block", of_language("json"), ids=str)
def test_json_blocks_parse(block):
    json.loads(block.text)


def test_the_json_bodies_of_curl_lines_parse():
    bodies = [
        words[words.index("-d") + 1] for _, words in shell_lines() if words[0] in ("curl", "scim") and "-d" in words
    ]
    assert len(bodies) >= 8
    for body in bodies:
        json.loads(body)


def test_manage_py_lines_name_commands_that_accept_their_options():
    known = get_commands()
    checked = 0
    for block, words in shell_lines():
        if not any(word.endswith("manage.py") for word in words[:2]):
            continue
        at = next(i for i, word in enumerate(words) if word.endswith("manage.py"))
        name, args = words[at + 1], words[at + 2 :]
        assert name in known, f"{block}: no command {name!r}"
        parser = load_command_class(known[name], name).create_parser("manage.py", name)
        try:
            parser.parse_args(args)
        except (CommandError, SystemExit) as refused:
            pytest.fail(f"{block}: manage.py {name} {' '.join(args)}: {refused}")
        checked += 1
    assert checked >= 15


def test_make_lines_name_targets_of_the_makefile():
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    named = [(block, words[1]) for block, words in shell_lines() if words[0] == "make" and len(words) > 1]
    assert len(named) >= 5
    for block, target in named:
        assert target in targets, f"{block}: no make target {target!r}"


def test_files_the_shell_lines_name_exist():
    for block, words in shell_lines():
        for word in words:
            if re.fullmatch(r"(deploy|sample_site|benchmarks|\.ci)/[\w./-]+", word):
                assert (ROOT / word).exists(), f"{block}: {word} does not exist"


# -- what the pages say about the project ----------------------------------------------------------------------


def test_the_tests_the_pages_name_exist():
    sources = {path.relative_to(ROOT).as_posix(): path.read_text() for path in (ROOT / "tests").rglob("*.py")}
    named = 0
    for page in pages():
        for reference in re.findall(r"``(tests/[\w/]+(?:\.py)?/?(?:::\w+)*)``", page.read_text()):
            path, *names = reference.split("::")
            assert path in sources or (ROOT / path).is_dir(), f"{page.name}: {reference}"
            for name in names:
                assert re.search(rf"^\s*(?:def|class) {name}\b", sources[path], re.M), f"{page.name}: {reference}"
            named += 1
    assert named >= 10


def test_readme_integration_steps_are_the_tutorials():
    readme = [block.text for block in blocks(README, "Adding drf_scim to an existing project")]
    tutorial = {block.caption: block.text for block in blocks(DOCS / "tutorial.rst")}
    assert tutorial["mysite/settings.py"] in readme
    assert tutorial["mysite/urls.py"] in readme


def test_readme_stays_a_front_page():
    text = README.read_text()
    assert len(text.splitlines()) < 300
    for command in ("make run", "make test"):
        assert command in text
    for target in re.findall(r"<(docs/[\w/.-]+\.rst)>`_|^\.\. _[^:]+: (docs/[\w/.-]+\.rst)$", text, re.M):
        assert (ROOT / "".join(target)).is_file(), target


def test_the_admin_page_is_linked_from_the_index_and_the_tutorials_last_step():
    assert "   admin\n" in (DOCS / "index.rst").read_text()
    tutorial = (DOCS / "tutorial.rst").read_text()
    last_step = tutorial.split("\n9. ", 1)[1].split("\nNext\n", 1)[0]
    assert ":doc:`admin`" in last_step
