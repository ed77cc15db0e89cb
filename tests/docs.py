"""The code blocks of README.rst and docs/, as a reader copies them, and projects built from them.

``blocks()`` reads a page with docutils alone (Sphinx's own directives and roles are stood in for), so a test can
take a page's code without building the site. ``HostProject`` is a project made by ``django-admin startproject``
in a temporary directory, to which a test appends the documented blocks and which it runs as a reader would.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docutils.core
import docutils.nodes
from docutils.parsers.rst import Directive, directives, roles

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.rst"
DOCS = ROOT / "docs"


@dataclass(frozen=True)
class Block:
    """One code block: its language (``python``, ``shell``, ``json``, ``text``...), caption and text."""

    page: str
    section: str
    language: str
    caption: str
    text: str

    def __str__(self) -> str:
        return f"{self.page} ({self.section}): {self.language} block {self.caption or self.text[:40]!r}"


class CodeBlock(Directive):
    """Sphinx's ``code-block``, as far as a reader sees it: a language, a caption, the code."""

    optional_arguments = 1
    has_content = True
    option_spec = {"caption": directives.unchanged, "linenos": directives.flag, "emphasize-lines": directives.unchanged}

    def run(self) -> list[docutils.nodes.Node]:
        node = docutils.nodes.literal_block("\n".join(self.content), "\n".join(self.content))
        node["language"] = self.arguments[0] if self.arguments else "none"
        node["caption"] = self.options.get("caption", "")
        return [node]


class Ignored(Directive):
    """A Sphinx directive with no code in it (``toctree``, ``include``...)."""

    optional_arguments = 10
    final_argument_whitespace = True
    has_content = True
    option_spec = None  # any option

    def run(self) -> list[docutils.nodes.Node]:
        return []


def sphinx_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    return [docutils.nodes.literal(rawtext, text)], []


@contextmanager
def sphinx_markup() -> Iterator[None]:
    """Sphinx's directives and roles, for as long as a page is read (docutils' registries are global)."""
    saved = dict(directives._directives), dict(roles._roles)
    directives.register_directive("code-block", CodeBlock)
    for name in ("toctree", "include", "literalinclude"):
        directives.register_directive(name, Ignored)
    for name in ("doc", "ref", "rfc"):
        roles.register_local_role(name, sphinx_role)
    try:
        yield
    finally:
        directives._directives.clear()
        directives._directives.update(saved[0])
        roles._roles.clear()
        roles._roles.update(saved[1])


def pages() -> list[Path]:
    """README.rst and every page of docs/."""
    return [README, *sorted(DOCS.rglob("*.rst"))]


def doctree(page: Path) -> docutils.nodes.document:
    """A page as docutils reads it, Sphinx's markup included."""
    with sphinx_markup():
        return docutils.core.publish_doctree(
            page.read_text(), source_path=str(page), settings_overrides={"report_level": 5, "syntax_highlight": "none"}
        )


def blocks(page: Path, section: str | None = None) -> list[Block]:
    """The code blocks of a page (of one section of it, by title), in order."""
    tree = doctree(page)
    found = []
    for node in tree.findall(docutils.nodes.literal_block):
        parent = node.parent
        while parent is not None and not isinstance(parent, docutils.nodes.section):
            parent = parent.parent
        title = parent[0].astext() if parent is not None else ""
        if section is not None and title != section:
            continue
        classes = [c for c in node.get("classes", []) if c != "code"]
        language = node.get("language") or (classes[0] if classes else "none")
        found.append(Block(page.relative_to(ROOT).as_posix(), title, language, node.get("caption", ""), node.astext()))
    if section is not None and not found:
        raise AssertionError(f"{page.name} has no code in a section {section!r}")
    return found


def commands(block: Block) -> list[list[str]]:
    """The commands of a shell block, one per line, as argument lists (comments dropped)."""
    found, pending = [], ""
    for line in block.text.splitlines():
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line + "\n"
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # a quoted argument (a JSON body) goes on over the next lines
            continue
        pending = ""
        if words:
            found.append(words)
    if pending.strip():
        raise AssertionError(f"{block}: unfinished command {pending!r}")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scim(url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=30) as response:
        return response.status, json.loads(response.read())


class HostProject:
    """A project of ``django-admin startproject`` in ``path``, run with this interpreter (and its drf_scim)."""

    def __init__(self, path: Path, package: str = "mysite") -> None:
        self.path = path
        self.package = package
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": f"{package}.settings", "PYTHONPATH": str(path)}
        self.env.pop("DATABASE_URL", None)

    def run(self, args: list[str], **env: str) -> subprocess.CompletedProcess:
        """Run a command as a reader types it: ``python`` and ``django-admin`` are this interpreter's."""
        if args[0] in ("python", "python3"):
            args = [sys.executable, *args[1:]]
        elif args[0] == "django-admin":
            args = [sys.executable, "-m", "django", *args[1:]]
        completed = subprocess.run(
            args, cwd=self.path, env={**self.env, **env}, capture_output=True, text=True, timeout=180
        )
        if completed.returncode != 0:
            raise AssertionError(f"{shlex.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
        return completed

    def start(self) -> None:
        self.run(["django-admin", "startproject", self.package, "."])

    def append(self, module: str, *codes: str) -> None:
        """Add code at the end of a module of the project, as the docs say to."""
        with open(self.path / module, "a") as target:
            target.write("".join(f"\n\n{code}\n" for code in codes))

    def manage(self, *args: str, **env: str) -> str:
        return self.run(["python", "manage.py", *args], **env).stdout

    def token(self, client: str) -> str:
        return self.manage("scim_token", "--client", client).strip().splitlines()[-1]

    @contextmanager
    def serve(self, ready_path: str = "/scim/v2/ServiceProviderConfig") -> Iterator[str]:
        """``manage.py runserver`` on a free port of 127.0.0.1; yields the site's URL."""
        url = f"http://127.0.0.1:{free_port()}"
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", url.removeprefix("http://"), "--noreload"],
            cwd=self.path,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{url}{ready_path}", timeout=5).close()
                    break
                except urllib.error.HTTPError:
                    break  # it answers (a 401 without a token)
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        server.kill()
                        raise AssertionError(f"runserver did not answer: {server.communicate()[1]}") from None
                    time.sleep(0.3)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)
