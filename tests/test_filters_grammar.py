"""The SCIM filter and PATCH path grammar (RFC 7644 §3.4.2.2, §3.5.2): pure parsing, no Django, no database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drf_scim.filters.grammar import FilterSyntaxError, parse_filter, parse_path
from drf_scim.filters.nodes import And, AttributePath, Comparison, Node, Not, Or, PatchPath, Present, ValueFilter

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
NODE_TYPES = (Comparison, Present, And, Or, Not, ValueFilter)


def p(text: str) -> AttributePath:
    """``AttributePath`` from its written form, split by hand (not by the grammar under test)."""
    schema = None
    if text.lower().startswith("urn:"):
        schema, _, text = text.rpartition(":")
    attribute, _, sub_attribute = text.partition(".")
    return AttributePath(schema, attribute, sub_attribute or None)


def c(path: str, operator: str, value: object) -> Comparison:
    return Comparison(p(path), operator, value)


def pr(path: str) -> Present:
    return Present(p(path))


def vf(path: str, inner: Node) -> ValueFilter:
    return ValueFilter(p(path), inner)


A, B, C, D = pr("a"), pr("b"), pr("c"), pr("d")


def assert_parses(text: str, expected: Node) -> None:
    assert parse_filter(text) == expected


# --- RFC 7644 §3.4.2.2, Figure 2: every example, full AST ------------------------------------------------------

RFC_EXAMPLES = [
    ('userName eq "bjensen"', c("userName", "eq", "bjensen")),
    ('name.familyName co "O\'Malley"', c("name.familyName", "co", "O'Malley")),
    ('userName sw "J"', c("userName", "sw", "J")),
    (f'{CORE_USER}:userName sw "J"', Comparison(AttributePath(CORE_USER, "userName", None), "sw", "J")),
    ("title pr", pr("title")),
    ('meta.lastModified gt "2011-05-13T04:42:34Z"', c("meta.lastModified", "gt", "2011-05-13T04:42:34Z")),
    ('meta.lastModified ge "2011-05-13T04:42:34Z"', c("meta.lastModified", "ge", "2011-05-13T04:42:34Z")),
    ('meta.lastModified lt "2011-05-13T04:42:34Z"', c("meta.lastModified", "lt", "2011-05-13T04:42:34Z")),
    ('meta.lastModified le "2011-05-13T04:42:34Z"', c("meta.lastModified", "le", "2011-05-13T04:42:34Z")),
    ('title pr and userType eq "Employee"', And(pr("title"), c("userType", "eq", "Employee"))),
    ('title pr or userType eq "Intern"', Or(pr("title"), c("userType", "eq", "Intern"))),
    (f'schemas eq "{ENTERPRISE}"', c("schemas", "eq", ENTERPRISE)),
    (
        'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
        And(
            c("userType", "eq", "Employee"),
            Or(c("emails", "co", "example.com"), c("emails.value", "co", "example.org")),
        ),
    ),
    (
        'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
        And(
            c("userType", "ne", "Employee"),
            Not(Or(c("emails", "co", "example.com"), c("emails.value", "co", "example.org"))),
        ),
    ),
    (
        'userType eq "Employee" and (emails.type eq "work")',
        And(c("userType", "eq", "Employee"), c("emails.type", "eq", "work")),
    ),
    (
        'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
        And(
            c("userType", "eq", "Employee"),
            vf("emails", And(c("type", "eq", "work"), c("value", "co", "@example.com"))),
        ),
    ),
    (
        'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
        Or(
            vf("emails", And(c("type", "eq", "work"), c("value", "co", "@example.com"))),
            vf("ims", And(c("type", "eq", "xmpp"), c("value", "co", "@foo.com"))),
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), RFC_EXAMPLES)
def test_rfc_7644_examples(text, expected):
    assert_parses(text, expected)


# --- Operators, keywords and case ------------------------------------------------------------------------------

OPERATORS = [
    *[(f'userName {op} "x"', c("userName", op, "x")) for op in ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")],
    ("title pr", pr("title")),
    # Operators, keywords and literals are case-insensitive; the operator comes back lower-cased.
    ('userName EQ "x"', c("userName", "eq", "x")),
    ('userName Sw "x"', c("userName", "sw", "x")),
    ("title PR", pr("title")),
    ("active eq TRUE", c("active", "eq", True)),
    ("active Eq False", c("active", "eq", False)),
    ("manager eq NULL", c("manager", "eq", None)),
    ("a pr AND b pr", And(A, B)),
    ("a pr Or b pr", Or(A, B)),
    ("NOT (a pr)", Not(A)),
    # Attribute names come back as written: matching them case-insensitively is done later.
    ('USERNAME eq "x"', c("USERNAME", "eq", "x")),
    ("Name.FamilyName pr", pr("Name.FamilyName")),
    # Keywords are only keywords where an operator is expected.
    ('and eq "x"', c("and", "eq", "x")),
    ("pr pr", pr("pr")),
    ("eq eq 1", c("eq", "eq", 1)),
    ("not pr", pr("not")),
    ('not eq "x" or b pr', Or(c("not", "eq", "x"), B)),
    ("not.sub pr", pr("not.sub")),
]


@pytest.mark.parametrize(("text", "expected"), OPERATORS)
def test_operators_and_keywords(text, expected):
    assert_parses(text, expected)


# --- Precedence and associativity ------------------------------------------------------------------------------

PRECEDENCE = [
    ("a pr or b pr and c pr", Or(A, And(B, C))),
    ("a pr and b pr or c pr", Or(And(A, B), C)),
    ("a pr and b pr and c pr", And(And(A, B), C)),
    ("a pr or b pr or c pr", Or(Or(A, B), C)),
    ("a pr and b pr and c pr and d pr", And(And(And(A, B), C), D)),
    ("a pr or b pr and c pr or d pr", Or(Or(A, And(B, C)), D)),
    ("a pr and b pr or c pr and d pr", Or(And(A, B), And(C, D))),
    ("(a pr or b pr) and c pr", And(Or(A, B), C)),
    ("a pr and (b pr or c pr)", And(A, Or(B, C))),
    ("a pr and (b pr and c pr)", And(A, And(B, C))),
    ("((a pr))", A),
    ("(a pr) and ((b pr))", And(A, B)),
    # not binds tighter than and, which binds tighter than or
    ("not (a pr) and b pr", And(Not(A), B)),
    ("not (a pr) or b pr and c pr", Or(Not(A), And(B, C))),
    ("a pr and not (b pr) or c pr", Or(And(A, Not(B)), C)),
    ("not (a pr and b pr)", Not(And(A, B))),
    ("not(a pr)", Not(A)),
    ("not not (a pr)", Not(Not(A))),
    ("not (not (a pr))", Not(Not(A))),
    # "not" without parentheses is accepted leniently and applies to one attribute expression
    ("not a pr", Not(A)),
    ("not a pr and b pr", And(Not(A), B)),
    ("not not a pr or b pr", Or(Not(Not(A)), B)),
    ('not emails[type eq "work"]', Not(vf("emails", c("type", "eq", "work")))),
]


@pytest.mark.parametrize(("text", "expected"), PRECEDENCE)
def test_precedence(text, expected):
    assert_parses(text, expected)


# --- Attribute paths -------------------------------------------------------------------------------------------

ATTRIBUTE_PATHS = [
    ("userName", AttributePath(None, "userName", None)),
    ("name.familyName", AttributePath(None, "name", "familyName")),
    ("meta.lastModified", AttributePath(None, "meta", "lastModified")),
    (f"{CORE_USER}:userName", AttributePath(CORE_USER, "userName", None)),
    (f"{ENTERPRISE}:department", AttributePath(ENTERPRISE, "department", None)),
    (f"{ENTERPRISE}:manager.value", AttributePath(ENTERPRISE, "manager", "value")),
    (
        "urn:acme:params:scim:schemas:extension:2.0:User:favouriteColour",
        AttributePath("urn:acme:params:scim:schemas:extension:2.0:User", "favouriteColour", None),
    ),
    ("URN:acme:1.0:Thing:x", AttributePath("URN:acme:1.0:Thing", "x", None)),
    ("urn:a:b", AttributePath("urn:a", "b", None)),
    ("$ref", AttributePath(None, "$ref", None)),
    ("members.$ref", AttributePath(None, "members", "$ref")),
    ("x-y_z9", AttributePath(None, "x-y_z9", None)),
    ("urn", AttributePath(None, "urn", None)),
    ("urn.x", AttributePath(None, "urn", "x")),
]


@pytest.mark.parametrize(("text", "expected"), ATTRIBUTE_PATHS)
def test_attribute_paths(text, expected):
    assert parse_filter(f"{text} pr") == Present(expected)
    assert parse_filter(f'{text} eq "v"') == Comparison(expected, "eq", "v")
    assert parse_path(text) == PatchPath(expected, None, None)
    assert str(expected) == text


# --- Value paths and the Entra form ----------------------------------------------------------------------------

VALUE_PATHS = [
    (
        'emails[type eq "work" and value co "@example.com"]',
        vf("emails", And(c("type", "eq", "work"), c("value", "co", "@example.com"))),
    ),
    (
        'members[value eq "2819c223-7f76-453a-919d-413861904646"]',
        vf("members", c("value", "eq", "2819c223-7f76-453a-919d-413861904646")),
    ),
    (
        'emails[(type eq "work" or type eq "home") and not (primary eq false)]',
        vf("emails", And(Or(c("type", "eq", "work"), c("type", "eq", "home")), Not(c("primary", "eq", False)))),
    ),
    (
        'emails[type eq "work" or type eq "home" and primary eq true]',
        vf("emails", Or(c("type", "eq", "work"), And(c("type", "eq", "home"), c("primary", "eq", True)))),
    ),
    ("emails[value pr]", vf("emails", pr("value"))),
    ('emails[ type eq "work" ]', vf("emails", c("type", "eq", "work"))),
    (
        f'{ENTERPRISE}:manager[value eq "x"]',
        ValueFilter(AttributePath(ENTERPRISE, "manager", None), c("value", "eq", "x")),
    ),
    ('name.things[value eq "x"]', vf("name.things", c("value", "eq", "x"))),
    (
        'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
        And(
            c("userType", "eq", "Employee"),
            vf("emails", And(c("type", "eq", "work"), c("value", "co", "@example.com"))),
        ),
    ),
    # Microsoft Entra: a value path followed by ".subAttr" and a test; the test moves inside the brackets.
    (
        'emails[type eq "work"].value eq "x"',
        vf("emails", And(c("type", "eq", "work"), c("value", "eq", "x"))),
    ),
    ('emails[type eq "work"].value pr', vf("emails", And(c("type", "eq", "work"), pr("value")))),
    (
        'addresses[type eq "work"].streetAddress co "Main"',
        vf("addresses", And(c("type", "eq", "work"), c("streetAddress", "co", "Main"))),
    ),
    (
        'emails[type eq "work" or type eq "home"].value eq "x"',
        vf("emails", And(Or(c("type", "eq", "work"), c("type", "eq", "home")), c("value", "eq", "x"))),
    ),
    (
        'emails[type eq "work"].value eq "x" and active eq true',
        And(vf("emails", And(c("type", "eq", "work"), c("value", "eq", "x"))), c("active", "eq", True)),
    ),
    (
        'not (emails[type eq "work"].value PR)',
        Not(vf("emails", And(c("type", "eq", "work"), pr("value")))),
    ),
]


@pytest.mark.parametrize(("text", "expected"), VALUE_PATHS)
def test_value_paths(text, expected):
    assert_parses(text, expected)


# --- JSON literals ---------------------------------------------------------------------------------------------

LITERALS = [
    ('"plain"', "plain"),
    ('""', ""),
    ('"O\'Malley"', "O'Malley"),
    (r'"say \"hi\""', 'say "hi"'),
    (r'"back\\slash"', "back\\slash"),
    (r'"a\/b"', "a/b"),
    (r'"\b\f\n\r\t"', "\b\f\n\r\t"),
    (r'"caf\u00e9 \u00C9"', "café É"),
    (r'"\ud83d\ude00"', "\U0001f600"),
    ('"raw ünïcödé 😀"', "raw ünïcödé 😀"),
    ('"a ( b ) [ c ] and or not"', "a ( b ) [ c ] and or not"),
    ("0", 0),
    ("42", 42),
    ("-7", -7),
    ("12345678901234567890", 12345678901234567890),
    ("1.5", 1.5),
    ("-0.25", -0.25),
    ("1e3", 1000.0),
    ("2E-2", 0.02),
    ("1.5e+2", 150.0),
    ("-0", 0),
    ("true", True),
    ("false", False),
    ("null", None),
    ("True", True),
    ("NULL", None),
]


@pytest.mark.parametrize(("literal", "expected"), LITERALS)
def test_literals(literal, expected):
    node = parse_filter(f"attr eq {literal}")
    assert node == c("attr", "eq", expected)
    assert type(node.value) is type(expected)


# --- Whitespace ------------------------------------------------------------------------------------------------

WHITESPACE = [
    ('   userName    eq    "x"   ', c("userName", "eq", "x")),
    ('userName\teq\n"x"', c("userName", "eq", "x")),
    ("( a pr )", A),
    ("(a pr)and(b pr)", And(A, B)),
    ('a eq"x"and b pr', And(c("a", "eq", "x"), B)),
    ("not(a pr)or b pr", Or(Not(A), B)),
    ('emails[  type   eq  "w"  ]  and  b pr', And(vf("emails", c("type", "eq", "w")), B)),
]


@pytest.mark.parametrize(("text", "expected"), WHITESPACE)
def test_whitespace(text, expected):
    assert_parses(text, expected)


# --- PATCH paths -----------------------------------------------------------------------------------------------

PATCH_PATHS = [
    ("userName", PatchPath(p("userName"), None, None)),
    ("name.familyName", PatchPath(p("name.familyName"), None, None)),
    (f"{ENTERPRISE}:department", PatchPath(AttributePath(ENTERPRISE, "department", None), None, None)),
    (f"{ENTERPRISE}:manager", PatchPath(AttributePath(ENTERPRISE, "manager", None), None, None)),
    (f"{ENTERPRISE}:manager.value", PatchPath(AttributePath(ENTERPRISE, "manager", "value"), None, None)),
    ('members[value eq "abc"]', PatchPath(p("members"), c("value", "eq", "abc"), None)),
    ('emails[type eq "work"].value', PatchPath(p("emails"), c("type", "eq", "work"), "value")),
    ('addresses[type eq "work"].Formatted', PatchPath(p("addresses"), c("type", "eq", "work"), "Formatted")),
    (
        'members[value eq "a" or value eq "b"]',
        PatchPath(p("members"), Or(c("value", "eq", "a"), c("value", "eq", "b")), None),
    ),
    (
        'emails[type eq "work" and not (primary eq true)].display',
        PatchPath(p("emails"), And(c("type", "eq", "work"), Not(c("primary", "eq", True))), "display"),
    ),
    ("  userName  ", PatchPath(p("userName"), None, None)),
]


@pytest.mark.parametrize(("text", "expected"), PATCH_PATHS)
def test_patch_paths(text, expected):
    assert parse_path(text) == expected


INVALID_PATCH_PATHS = [
    ('emails[type eq "work"', 21, "Expected 'and', 'or' or ']'"),
    ("emails[]", 7, "Expected an attribute path"),
    (".value", 0, "Expected an attribute path"),
    ("name..x", 4, "Expected end of path"),
    ('emails[type eq "work"].value eq "x"', 29, "Expected end of path"),
    ('emails[type eq "work"] .value', 23, "Expected end of path"),
    ('emails[type eq "work"].value.x', 28, "Expected end of path"),
    ("userName pr", 9, "Expected end of path"),
    ("a.b.c", 3, "Expected end of path"),
    ("emails[value]", 12, "comparison operator"),
    ("", 0, "empty"),
]


@pytest.mark.parametrize(("text", "position", "fragment"), INVALID_PATCH_PATHS)
def test_invalid_patch_paths(text, position, fragment):
    with pytest.raises(FilterSyntaxError) as exc:
        parse_path(text)
    assert exc.value.position == position
    assert fragment in str(exc.value)


# --- Invalid filters -------------------------------------------------------------------------------------------

INVALID_FILTERS = [
    ('userName xx "a"', 9, "Expected a comparison operator"),
    ("userName eq bjensen", 12, "Expected a value"),
    ("userName eq 'bjensen'", 12, "double quotes"),
    ('userName eq "bjensen', 12, "Unterminated string"),
    ('userName eq "a\\x"', 12, "Invalid escape"),
    ('userName eq "a\\u12"', 12, "Invalid escape"),
    ('userName eq "\\ud800"', 12, "Unpaired surrogate"),
    ('userName eq "\\ude00\\ud83d"', 12, "Unpaired surrogate"),
    ('userName eq "a\tb"', 14, "Control characters"),
    ("userName eq", 11, "Expected a value"),
    ("userName", 8, "Expected a comparison operator"),
    ('title pr "x"', 9, "Expected 'and', 'or' or end of filter"),
    ("a eq 01", 5, "Expected a value"),
    ("a eq 1.", 5, "Expected a value"),
    ("a eq .5", 5, "Expected a value"),
    ("a eq +1", 5, "Expected a value"),
    ("a eq 1x", 5, "Expected a value"),
    ("a eq 1and b pr", 5, "Expected a value"),
    ("a eq 1e999", 5, "out of range"),
    ("a eq tru", 5, "Expected a value"),
    ("a eq truex", 5, "Expected a value"),
    ('a eq "x"y', 8, "Expected 'and', 'or' or end of filter"),
    ("(a pr", 5, "Expected 'and', 'or' or ')'"),
    ("a pr)", 4, "Expected 'and', 'or' or end of filter"),
    ("((a pr)", 7, "Expected 'and', 'or' or ')'"),
    ("()", 1, "Expected an attribute path"),
    ("a pr and", 8, "Expected an attribute path"),
    ("a pr or", 7, "Expected an attribute path"),
    ("and a pr", 4, "Expected a comparison operator"),
    ("a pr and or b pr", 12, "Expected a comparison operator"),
    ("a pr and b xx 1", 11, "Expected a comparison operator"),
    ("a pr andb pr", 5, "Expected 'and', 'or' or end of filter"),
    ("a pr b pr", 5, "Expected 'and', 'or' or end of filter"),
    ("(a pr) (b pr)", 7, "Expected 'and', 'or' or end of filter"),
    ("a pr && b pr", 5, "Expected 'and', 'or' or end of filter"),
    ("not", 3, "Expected an attribute path or '('"),
    ("not (a pr", 9, "Expected 'and', 'or' or ')'"),
    ("not ()", 5, "Expected an attribute path"),
    (".value eq 1", 0, "Expected an attribute path"),
    ("1abc pr", 0, "Expected an attribute path"),
    ("name..x pr", 4, "Expected a comparison operator"),
    ("a.b.c pr", 3, "Expected a comparison operator"),
    ("emails[]", 7, "Expected an attribute path"),
    ('emails[type eq "work"', 21, "Expected 'and', 'or' or ']'"),
    ('emails[type eq "work"]]', 22, "Expected 'and', 'or' or end of filter"),
    ('emails[type eq "work"].value', 28, "Expected a comparison operator or 'pr'"),
    ('emails[type eq "work"].value xx 1', 29, "Expected a comparison operator or 'pr'"),
    ('emails[type eq "work"] eq "x"', 23, "Expected 'and', 'or' or end of filter"),
    ('emails[type eq "work"] .value eq "x"', 23, "Expected 'and', 'or' or end of filter"),
    ('emails[addresses[type eq "work"]]', 16, "cannot be nested"),
    ("emails[type pr", 14, "Expected 'and', 'or' or ']'"),
    ("emails[type pr)", 14, "Expected 'and', 'or' or ']'"),
    ('emails[(type eq "a"]', 19, "Expected 'and', 'or' or ')'"),
    ("urn:a pr", 3, "Expected a comparison operator"),
    ("", 0, "empty"),
    ("   ", 0, "empty"),
]


@pytest.mark.parametrize(("text", "position", "fragment"), INVALID_FILTERS)
def test_invalid_filters(text, position, fragment):
    with pytest.raises(FilterSyntaxError) as exc:
        parse_filter(text)
    assert exc.value.position == position
    assert fragment in str(exc.value)


def test_error_message_says_what_and_where():
    with pytest.raises(FilterSyntaxError) as exc:
        parse_filter('userName xx "a"')
    assert str(exc.value) == "Expected a comparison operator, 'pr' or '[' at position 9: 'userName xx \"a\"'"
    assert isinstance(exc.value, ValueError)


def test_error_message_shows_an_excerpt_of_long_text():
    text = " and ".join(['userName eq "someone"'] * 20) + " and x"
    with pytest.raises(FilterSyntaxError) as exc:
        parse_filter(text)
    assert exc.value.position == len(text)
    message = str(exc.value)
    assert f"at position {len(text)}: '..." in message
    assert message.endswith(" and x'")
    assert len(message) < 200


@pytest.mark.parametrize("value", [None, 42, b"userName pr", ["userName pr"]])
def test_non_string_input(value):
    with pytest.raises(FilterSyntaxError, match="must be a string"):
        parse_filter(value)
    with pytest.raises(FilterSyntaxError, match="must be a string"):
        parse_path(value)


# --- Limits: length and nesting --------------------------------------------------------------------------------


def test_too_long():
    text = 'userName eq "' + "x" * 5000 + '"'
    with pytest.raises(FilterSyntaxError, match=r"too long.*the limit is 4096") as exc:
        parse_filter(text)
    assert exc.value.position is None
    assert parse_filter(text, max_length=6000) == c("userName", "eq", "x" * 5000)
    with pytest.raises(FilterSyntaxError, match="the limit is 10"):
        parse_filter("userName pr", max_length=10)
    with pytest.raises(FilterSyntaxError, match="the limit is 10"):
        parse_path("name.familyName", max_length=10)


def nest(depth: int, opening: str, closing: str, inner: str = "a pr") -> str:
    return opening * depth + inner + closing * depth


def unwrap(node: Node, cls: type) -> tuple[int, Node]:
    """Count the levels of ``cls`` wrapping ``node`` (iteratively: deep trees would overflow a recursive ==)."""
    count = 0
    while isinstance(node, cls):
        node = node.operand if cls is Not else node.left
        count += 1
    return count, node


@pytest.mark.parametrize(
    ("make", "levels_at_limit", "nots"),
    [
        (lambda n: nest(n, "(", ")"), 50, 0),
        (lambda n: nest(n, "not (", ")"), 50, 50),
        (lambda n: nest(n, "not ", ""), 50, 50),
        (lambda n: nest(n, "not not (", ")"), 25, 50),
        (lambda n: nest(n - 1, "(b pr and ", ")", 'emails[type eq "x"]'), 50, 0),
        (lambda n: nest(n - 4, "(", ")", 'emails[(((type eq "x")))]'), 50, 0),
    ],
)
def test_depth_limit(make, levels_at_limit, nots):
    node = parse_filter(make(levels_at_limit))
    assert unwrap(node, Not)[0] == nots
    with pytest.raises(FilterSyntaxError, match=r"nested too deeply.*the limit is 50 levels") as exc:
        parse_filter(make(levels_at_limit + 1))
    assert exc.value.position is not None


def test_depth_limit_is_configurable_and_ignores_string_literals():
    with pytest.raises(FilterSyntaxError, match="the limit is 3 levels"):
        parse_filter(nest(4, "(", ")"), max_depth=3)
    assert parse_filter(nest(3, "(", ")"), max_depth=3) == A
    text = 'a eq "' + "([not " * 100 + '"'
    assert parse_filter(text, max_depth=1) == c("a", "eq", "([not " * 100)
    with pytest.raises(FilterSyntaxError, match="the limit is 2 levels"):
        parse_path('emails[((type eq "x"))]', max_depth=2)
    assert parse_path('emails[(type eq "x")]', max_depth=2) == PatchPath(p("emails"), c("type", "eq", "x"))


@pytest.mark.parametrize("text", ["(" * 10000, "[" * 10000, "not " * 3000, "not (" * 2000, "emails[" * 1000])
def test_pathological_nesting_is_a_syntax_error(text):
    with pytest.raises(FilterSyntaxError, match="nested too deeply"):
        parse_filter(text, max_length=len(text))
    with pytest.raises(FilterSyntaxError, match="nested too deeply"):
        parse_path(text, max_length=len(text))


def test_recursion_beyond_the_stack_is_a_syntax_error():
    """With the depth check disabled, Python's recursion limit still ends in a FilterSyntaxError."""
    text = nest(5000, "(", ")")
    with pytest.raises(FilterSyntaxError, match="nested too deeply"):
        parse_filter(text, max_length=len(text), max_depth=len(text))


def test_long_chains_are_not_nesting():
    text = " and ".join(["a pr"] * 400)
    assert len(text) < 4096
    count, innermost = unwrap(parse_filter(text), And)
    assert (count, innermost) == (399, A)
    text = " or ".join(f"x{i} pr" for i in range(400))
    count, innermost = unwrap(parse_filter(text, max_length=10000), Or)
    assert (count, innermost) == (399, pr("x0"))


# --- Robustness: anything in, a Node or a FilterSyntaxError out -------------------------------------------------

TOKENS = [
    "userName",
    "name.familyName",
    "emails",
    "value",
    "type",
    f"{ENTERPRISE}:manager.value",
    "urn:",
    "$ref",
    ".value",
    ".",
    ":",
    *("eq", "EQ", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "Pr"),
    *("and", "AND", "or", "not", "Not"),
    *("(", ")", "[", "]"),
    *('"x"', '"a\\"b"', '"\\u00e9"', '"\\ud83d\\ude00"', '"\\ud800"', '"open', "'single'", '"', "\\", '"\t"'),
    *("0", "1", "-2.5e3", "01", "1e999", "true", "False", "null", "nul"),
    *(" ", "\t", "\n", "\x00", "é"),
]
token_soup = st.builds(
    lambda tokens, separator: separator.join(tokens),
    st.lists(st.sampled_from(TOKENS), max_size=30),
    st.sampled_from([" ", "", "  "]),
)


# Round trip: random ASTs, rendered fully parenthesized, parse back to themselves.
names = st.one_of(st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,6}", fullmatch=True), st.just("$ref"))
schemas = st.builds(
    lambda prefix, parts: prefix + ":".join(parts),
    st.sampled_from(["urn:", "URN:", "urn:ietf:params:scim:schemas:"]),
    st.lists(st.from_regex(r"[A-Za-z0-9.-]{1,5}", fullmatch=True), min_size=1, max_size=4),
)
paths = st.builds(AttributePath, st.none() | schemas, names, st.none() | names)
values = st.one_of(
    st.text(max_size=12),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
operators = st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
tests = st.one_of(st.builds(Comparison, paths, operators, values), st.builds(Present, paths))


def logic(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.builds(And, children, children), st.builds(Or, children, children), st.builds(Not, children))


inner_filters = st.recursive(tests, logic, max_leaves=4)
filters = st.recursive(st.one_of(tests, st.builds(ValueFilter, paths, inner_filters)), logic, max_leaves=8)


def render(node: Node, ascii: bool) -> str:
    if isinstance(node, Comparison):
        return f"{node.path} {node.operator} {json.dumps(node.value, ensure_ascii=ascii)}"
    if isinstance(node, Present):
        return f"{node.path} pr"
    if isinstance(node, And):
        return f"({render(node.left, ascii)} and {render(node.right, ascii)})"
    if isinstance(node, Or):
        return f"({render(node.left, ascii)} or {render(node.right, ascii)})"
    if isinstance(node, Not):
        return f"not ({render(node.operand, ascii)})"
    return f"{node.path}[{render(node.filter, ascii)}]"


@settings(max_examples=300, derandomize=True, deadline=None)
@given(filters, st.booleans())
def test_rendered_filters_parse_back(node, ascii):
    text = render(node, ascii)
    assert parse_filter(text, max_length=100_000, max_depth=500) == node


@st.composite
def mutated_filters(draw: st.DrawFn) -> str:
    """A valid filter with a few random cuts, deletions and token insertions."""
    text = render(draw(filters), draw(st.booleans()))
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["delete", "insert", "truncate"]))
        if edit == "delete":
            text = text[:index] + text[draw(st.integers(index, min(len(text), index + 6))) :]
        elif edit == "insert":
            text = text[:index] + draw(st.sampled_from(TOKENS)) + text[index:]
        else:
            text = text[:index]
    return text


def parses_or_fails_cleanly(parse, text: str) -> None:
    try:
        result = parse(text)
    except FilterSyntaxError as exc:
        result = exc
    if isinstance(result, FilterSyntaxError):
        assert result.position is None or 0 <= result.position <= len(text)
        assert str(result)
    else:
        assert isinstance(result, PatchPath if parse is parse_path else NODE_TYPES)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.one_of(st.text(max_size=300), token_soup, mutated_filters()))
def test_any_text_gives_a_node_or_a_syntax_error(text):
    parses_or_fails_cleanly(parse_filter, text)
    parses_or_fails_cleanly(parse_path, text)


# --- Shapes: each shape of filter is parsed once --------------------------------------------------------------


def outcome(parse, text: str) -> object:
    try:
        return parse(text)
    except FilterSyntaxError as exc:
        return ("error", str(exc), exc.position)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.one_of(token_soup, mutated_filters(), filters.map(lambda node: render(node, False))))
def test_a_text_parses_through_its_shape_as_it_parses_alone(monkeypatch_shapes, text):
    for parse in (parse_filter, parse_path):
        shaped = outcome(parse, text)
        with monkeypatch_shapes():
            alone = outcome(parse, text)
        assert shaped == alone, text


def test_texts_of_one_shape_keep_their_own_values():
    first = parse_filter('userName eq "a@example.com" or emails[value co "\\"q\\""]')
    second = parse_filter('userName eq "B\\u00e9" or emails[value co "%_"]')
    assert first == Or(
        Comparison(p("userName"), "eq", "a@example.com"), ValueFilter(p("emails"), Comparison(p("value"), "co", '"q"'))
    )
    assert second == Or(
        Comparison(p("userName"), "eq", "Bé"), ValueFilter(p("emails"), Comparison(p("value"), "co", "%_"))
    )
    assert parse_path('members[value eq "1"]').filter == Comparison(p("value"), "eq", "1")
    assert parse_path('members[value eq "2"]').filter == Comparison(p("value"), "eq", "2")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('userName eq "\\x"', "Invalid escape sequence"),
        ('userName eq "\\ud800"', "Unpaired surrogate"),
        ('userName eq "a" and "b"', "at position 20"),
        ('userName eq "a" and title eq "b', "Unterminated string literal at position 29"),
    ],
)
def test_a_text_whose_shape_does_not_parse_reports_its_own_error(text, fragment):
    parse_filter('userName eq "warm" and title eq "up"')  # the shape of some of them, parsed already
    with pytest.raises(FilterSyntaxError, match=re.escape(fragment)):
        parse_filter(text)


@pytest.fixture(scope="module")
def monkeypatch_shapes():
    """A context in which texts are parsed alone, as if no shape had been seen."""
    from contextlib import contextmanager

    from drf_scim.filters import grammar

    @contextmanager
    def alone():
        original = grammar._parse_shape
        grammar._parse_shape = lambda element, text: element.parse_string(text)[0]
        try:
            yield
        finally:
            grammar._parse_shape = original

    return alone


# --- Purity ----------------------------------------------------------------------------------------------------


def test_grammar_imports_no_django_and_leaves_packrat_alone():
    code = (
        "import sys, pyparsing; import drf_scim.filters.grammar, drf_scim.filters.nodes; "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')]; "
        "assert not pyparsing.ParserElement._packratEnabled"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
