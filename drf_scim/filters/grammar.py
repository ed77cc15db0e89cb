"""The SCIM filter grammar (RFC 7644 §3.4.2.2) and PATCH path grammar (§3.5.2), built once with pyparsing.

:func:`parse_filter` turns ``filter=`` text into a :data:`~drf_scim.filters.nodes.Node` tree and
:func:`parse_path` turns a PATCH ``path`` into a :class:`~drf_scim.filters.nodes.PatchPath`. Anything else
raises :class:`FilterSyntaxError`. Keywords, operators and ``true``/``false``/``null`` are case-insensitive;
attribute names are returned as written. ``and``/``or`` chains nest left-associatively; ``not`` binds tighter
than ``and``, which binds tighter than ``or``.

The grammar does not enable packrat parsing (a process-wide pyparsing switch) and does not need it: each
alternative is decided within a token or two. Precedence is resolved in parse actions over flat operand lists,
so pyparsing only recurses for parentheses and brackets, whose depth a cheap scan checks before parsing.
pyparsing sees each shape of text once (its string literals replaced by placeholders, :func:`_parse_shape`):
``userName eq "..."`` lookups differ in their strings only, and then cost a regex and a dictionary lookup.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, reduce
from typing import Any, NoReturn

import pyparsing as pp

from .nodes import And, AttributePath, Comparison, Node, Not, Or, PatchPath, Present, ValueFilter

__all__ = ["DEFAULT_MAX_DEPTH", "DEFAULT_MAX_LENGTH", "FilterSyntaxError", "parse_filter", "parse_path"]

DEFAULT_MAX_LENGTH = 4096
DEFAULT_MAX_DEPTH = 50


class FilterSyntaxError(ValueError):
    """A filter or PATCH path that cannot be parsed.

    ``position`` is the 0-based offset in the text where the problem was found, or None when the problem is
    the text as a whole (too long, empty, not a string).
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class FilterValueError(FilterSyntaxError):
    """A filter (or the filter of a PATCH path) comparing with a value out of every attribute's range."""


# --- Intermediate parse results (never leave this module) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class _Test:
    """What follows an attribute path: ``pr`` (value None) or a comparison operator and its value."""

    operator: str
    value: Any = None

    def apply(self, path: AttributePath) -> Node:
        if self.operator == "pr":
            return Present(path)
        return Comparison(path, self.operator, self.value)


@dataclass(frozen=True, slots=True)
class _SubAttribute:
    name: str


class _Not:
    """The ``not`` keyword (a token, so that a run of them can be counted)."""


_NOT_TOKEN = _Not()


def _fail(text: str, loc: int, message: str) -> NoReturn:
    raise pp.ParseFatalException(text, loc, message)


# A literal that parses but that no attribute can hold: an error of the filter rather than of its syntax
# (pyparsing hands parse-action exceptions on as its own class, so the message tells them apart).
_OUT_OF_RANGE = "Number literal is out of range"


# --- Lexical elements -----------------------------------------------------------------------------------------

_NAME_CHARS = r"A-Za-z0-9_$\-"  # for character classes
_NAME = r"(?:\$ref|[A-Za-z][A-Za-z0-9_-]*)"
# A URN as written before the attribute name; the greedy match backtracks to the last ":" followed by a name,
# so "urn:...:2.0:User:manager.value" splits as schema "urn:...:2.0:User", attribute "manager", "value".
_ATTR_PATH_RE = re.compile(
    rf"(?:(?P<schema>[Uu][Rr][Nn]:[A-Za-z0-9._:%+=~-]+):)?(?P<attribute>{_NAME})(?:\.(?P<sub>{_NAME}))?"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _on_tokens(action: Callable[[pp.ParseResults], Any]) -> Callable[[str, int, pp.ParseResults], Any]:
    """A parse action taking pyparsing's three arguments. pyparsing finds the arity of a shorter one by
    calling it and catching TypeError, which is not thread-safe: threads parsing their first filters at
    once could get a TypeError (a 500) instead. Every parse action here takes (text, loc, tokens)."""
    return lambda text, loc, tokens: action(tokens)


def _keyword(word: str) -> pp.ParserElement:
    return pp.Regex(rf"(?i:{word})(?![{_NAME_CHARS}])").set_name(f"'{word}'")


def _literal(char: str, name: str | None = None) -> pp.ParserElement:
    return pp.Literal(char).set_name(name or f"'{char}'").suppress()


def _attribute_path(text: str, loc: int, tokens: pp.ParseResults) -> AttributePath:
    match = tokens[0]
    return AttributePath(match["schema"], match["attribute"], match["sub"])


def _string(text: str, loc: int, tokens: pp.ParseResults) -> _Literal:
    try:
        value = json.loads(tokens[0])
    except ValueError:
        _fail(text, loc, "Invalid escape sequence in string literal")
    if _SURROGATE.search(value):
        _fail(text, loc, "Unpaired surrogate in string literal")
    return _Literal(value)


def _bad_string(text: str, loc: int, tokens: pp.ParseResults) -> NoReturn:
    """A '"' that does not start a valid string: unterminated, or with a raw control character."""
    index = loc + 1
    while index < len(text):
        char = text[index]
        if char == '"':
            break
        if char < " ":
            _fail(text, index, "Control characters must be escaped in string literals")
        index += 2 if char == "\\" else 1
    _fail(text, loc, "Unterminated string literal")


def _number(text: str, loc: int, tokens: pp.ParseResults) -> _Literal:
    token = tokens[0]
    try:
        value: int | float = float(token) if any(c in token for c in ".eE") else int(token)
    except ValueError:  # more digits than sys.get_int_max_str_digits()
        _fail(text, loc, "Number literal is too long")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer beyond the range of a float
        finite = False
    if not finite:
        _fail(text, loc, _OUT_OF_RANGE)
    return _Literal(value)


_CONSTANTS = {"true": True, "false": False, "null": None}

_LPAR, _RPAR = _literal("("), _literal(")", "'and', 'or' or ')'")
_LBRACK, _RBRACK = _literal("["), _literal("]", "'and', 'or' or ']'")
_LOGICAL_OP = (
    pp.Regex(rf"(?i:and|or)(?![{_NAME_CHARS}])")
    .set_name("'and' or 'or'")
    .add_parse_action(lambda text, loc, t: t[0].lower())
)
_NOT = _keyword("not").set_parse_action(lambda text, loc, t: _NOT_TOKEN)
_PR = _keyword("pr").set_parse_action(lambda text, loc, t: _Test("pr"))
_COMPARE_OP = pp.Regex(rf"(?i:eq|ne|co|sw|ew|gt|ge|lt|le)(?![{_NAME_CHARS}])").set_name("a comparison operator")

_ATTR_PATH = pp.Regex(_ATTR_PATH_RE, as_match=True).set_name("an attribute path").set_parse_action(_attribute_path)
_SUB_ATTR = (
    pp.Regex(rf"\.({_NAME})")
    .leave_whitespace()
    .set_name("'.' and a sub-attribute")
    .set_parse_action(lambda text, loc, t: _SubAttribute(t[0][1:]))
)

_VALUE = pp.MatchFirst(
    [
        pp.Regex(r'"(?:[^"\\\x00-\x1f]|\\[\s\S])*"').set_name("a string").set_parse_action(_string),
        pp.Regex(rf"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?(?![{_NAME_CHARS}.])")
        .set_name("a number")
        .set_parse_action(_number),
        pp.Regex(rf"(?i:true|false|null)(?![{_NAME_CHARS}])").set_parse_action(
            lambda text, loc, t: _Literal(_CONSTANTS[t[0].lower()])
        ),
        pp.Literal('"').set_parse_action(_bad_string),
        pp.Literal("'").set_parse_action(lambda s, loc, t: _fail(s, loc, "String literals must use double quotes")),
    ]
).set_name("a value (a JSON string, number, true, false or null)")

_COMPARISON = (_COMPARE_OP - _VALUE).set_parse_action(lambda text, loc, t: _Test(t[0].lower(), t[1].value))
_TEST = (_PR | _COMPARISON).set_name("a comparison operator or 'pr'")


# --- Logical expressions --------------------------------------------------------------------------------------


def _combine(tokens: pp.ParseResults | list[Any]) -> Node:
    """Fold ``unary (("and" / "or") unary)*``: "and" binds tighter than "or", both left-associative."""
    terms: list[Node] = []
    node = tokens[0]
    for index in range(1, len(tokens), 2):
        if tokens[index] == "and":
            node = And(node, tokens[index + 1])
        else:
            terms.append(node)
            node = tokens[index + 1]
    terms.append(node)
    return reduce(Or, terms)


def _negate(tokens: pp.ParseResults) -> Node:
    """``not not ... (sequence)`` or ``not not ... operand``: wrap in one Not per leading ``not``."""
    count = 0
    while isinstance(tokens[count], _Not):
        count += 1
    node = _combine(list(tokens[count:]))
    for _ in range(count):
        node = Not(node)
    return node


def _logic(operand: pp.ParserElement) -> pp.ParserElement:
    """``unary (("and" / "or") unary)*`` where unary is ``operand``, possibly negated or parenthesized.

    Precedence is resolved by :func:`_combine` over the flat list (the caller attaches it) rather than with a
    grammar level per operator, as ``infix_notation`` does: pyparsing recurses for every level, so this keeps
    parsing fast and each nesting level cheap in Python frames (7 to 12; 10 to 17 with packrat enabled).
    """
    unary = pp.Forward()
    sequence = unary + pp.ZeroOrMore(_LOGICAL_OP - unary)
    nots = pp.OneOrMore(_NOT)
    unary <<= pp.MatchFirst(
        [
            # Its "(" is named for what may follow a "not", so that "not" alone reads well.
            (nots + _literal("(", "an attribute path or '('") - sequence - _RPAR).set_parse_action(_on_tokens(_negate)),
            (nots + operand).set_parse_action(_on_tokens(_negate)),
            (_LPAR - sequence - _RPAR).set_parse_action(_on_tokens(_combine)),
            operand,
        ]
    ).set_name("an attribute path, 'not' or '('")
    return sequence


def _nested_value_filter(text: str, loc: int, tokens: pp.ParseResults) -> NoReturn:
    _fail(text, loc, "Value filters cannot be nested")


# valFilter: the filter inside "[...]", whose attribute expressions cannot themselves hold brackets.
_VAL_FILTER = _logic(
    (_ATTR_PATH + (_TEST | pp.Literal("[").set_parse_action(_nested_value_filter)).set_name(_TEST.customName))
    .set_name("an attribute path or '('")
    .set_parse_action(lambda text, loc, t: t[1].apply(t[0]))
)
_BRACKETED = (_LBRACK - _VAL_FILTER - _RBRACK).set_parse_action(_on_tokens(_combine))


def _attribute_expression(tokens: pp.ParseResults) -> Node:
    path, rest = tokens[0], tokens[1:]
    if isinstance(rest[0], _Test):  # attrPath pr / attrPath op value
        return rest[0].apply(path)
    inner = rest[0]
    if len(rest) > 1:  # Entra's "emails[type eq "work"].value eq "x"": move the sub-attribute test inside
        sub_attribute, test = rest[1], rest[2]
        inner = And(inner, test.apply(AttributePath(None, sub_attribute.name)))
    return ValueFilter(path, inner)


_FILTER_TEXT = (
    _logic(
        (_ATTR_PATH + ((_BRACKETED + pp.Opt(_SUB_ATTR - _TEST)) | _TEST).set_name("a comparison operator, 'pr' or '['"))
        .set_name("an attribute path or '('")
        .set_parse_action(_on_tokens(_attribute_expression))
    )
    + pp.StringEnd().set_name("'and', 'or' or end of filter")
).set_parse_action(_on_tokens(_combine))


def _patch_path(tokens: pp.ParseResults) -> PatchPath:
    sub_attribute = tokens[2].name if len(tokens) > 2 else None
    return PatchPath(tokens[0], tokens[1] if len(tokens) > 1 else None, sub_attribute)


_PATH_TEXT = (
    _ATTR_PATH + pp.Opt(_BRACKETED + pp.Opt(_SUB_ATTR)) + pp.StringEnd().set_name("end of path")
).set_parse_action(_on_tokens(_patch_path))

# pyparsing expands tabs before parsing unless told otherwise, which would shift every reported position.
for _element in (_FILTER_TEXT, _PATH_TEXT):
    _element.parse_with_tabs()
    _element.streamline()


# --- Entry points -----------------------------------------------------------------------------------------------

# Tokens that matter for the depth scan: string literals (skipped), brackets, and the keywords not/and/or.
_SCAN = re.compile(rf'"(?:[^"\\]|\\[\s\S])*"?|[()\[\]]|(?<![{_NAME_CHARS}.:])(?i:not|and|or)(?![{_NAME_CHARS}.:])')


def _excerpt(text: str, position: int | None) -> str:
    if len(text) <= 100 or position is None:
        return repr(text if len(text) <= 100 else text[:97] + "...")
    start, end = max(0, position - 40), min(len(text), position + 40)
    return repr(("..." if start else "") + text[start:end] + ("..." if end < len(text) else ""))


def _error(message: str, text: str, position: int | None) -> FilterSyntaxError:
    where = f" at position {position}" if position is not None else ""
    return FilterSyntaxError(f"{message}{where}: {_excerpt(text, position)}", position)


def _check_depth(text: str, kind: str, max_depth: int) -> None:
    """Reject nesting deeper than ``max_depth``: open parentheses and brackets, plus ``not``s in effect.

    A ``not`` directly before "(" shares that parenthesis' level. Runs before pyparsing, which recurses
    once per level.
    """
    if text.count("(") + text.count("[") + text.lower().count("not") <= max_depth:
        return
    stack: list[int] = []
    depth = pending_nots = 0
    for match in _SCAN.finditer(text):
        token = match.group().lower()
        if token == "not":
            pending_nots += 1
        elif token in ("(", "["):
            weight = max(1, pending_nots) if token == "(" else 1 + pending_nots
            stack.append(weight)
            depth += weight
            pending_nots = 0
        elif token in (")", "]", "and", "or"):
            pending_nots = 0
            if token in (")", "]") and stack:
                depth -= stack.pop()
            continue
        else:  # a string literal
            continue
        if depth + pending_nots > max_depth:
            raise _error(f"The {kind} is nested too deeply (the limit is {max_depth} levels)", text, match.start())


# --- Shapes: a filter parsed once per shape, whatever its strings -------------------------------------------------

# A well-formed string literal, as _VALUE reads one. Outside literals a filter has no '"'.
_STRING_LITERAL = re.compile(r'"(?:[^"\\\x00-\x1f]|\\[\s\S])*"')
_HOLE = "\x00"  # a placeholder's value starts with it; no literal of a shape holds anything else
MAX_SHAPES = 512  # shapes kept, the least recently used forgotten first


def _shape_of(text: str) -> tuple[str, list[str]] | None:
    """``text`` with its string literals replaced by numbered placeholders, and their values in order.
    None when a literal is not a valid string (then parsing the text itself reports where)."""
    values: list[str] = []

    def hole(match: re.Match) -> str:
        try:
            value = json.loads(match.group())
        except ValueError:
            raise _NotAShape from None
        if _SURROGATE.search(value):
            raise _NotAShape
        values.append(value)
        return f'"\\u0000{len(values) - 1}"'

    try:
        return _STRING_LITERAL.sub(hole, text), values
    except _NotAShape:
        return None


class _NotAShape(Exception):
    pass


def _with_values(node: Any, values: list[str]) -> Any:
    """The tree parsed from a shape, with each placeholder replaced by its value."""
    if isinstance(node, Comparison):
        value = node.value
        if isinstance(value, str) and value.startswith(_HOLE):
            return Comparison(node.path, node.operator, values[int(value[1:])])
        return node
    if isinstance(node, (And, Or)):
        return type(node)(_with_values(node.left, values), _with_values(node.right, values))
    if isinstance(node, Not):
        return Not(_with_values(node.operand, values))
    if isinstance(node, ValueFilter):
        return ValueFilter(node.path, _with_values(node.filter, values))
    if isinstance(node, PatchPath) and node.filter is not None:
        return PatchPath(node.path, _with_values(node.filter, values), node.sub_attribute)
    return node  # Present, PatchPath without a filter


def _parse_shape(element: pp.ParserElement, text: str) -> Any:
    """``element.parse_string(text)[0]``, parsing each shape of text once: filters differ in their strings
    (``userName eq "..."``) far more than in their shapes, and pyparsing costs more than the rest of a lookup's
    filtering. A text that does not parse as its shape is parsed as itself, for its error."""
    shape = _shape_of(text)
    if shape is None:
        return element.parse_string(text)[0]
    template, values = shape
    return _with_values(_parse_template(element, template), values)


@lru_cache(maxsize=MAX_SHAPES)
def _parse_template(element: pp.ParserElement, template: str) -> Any:
    return element.parse_string(template)[0]  # raises (and keeps nothing) for a text that does not parse


def _parse(element: pp.ParserElement, text: object, kind: str, max_length: int, max_depth: int) -> Any:
    if not isinstance(text, str):
        raise FilterSyntaxError(f"The {kind} must be a string, not {type(text).__name__}")
    if len(text) > max_length:
        raise FilterSyntaxError(f"The {kind} is too long ({len(text)} characters; the limit is {max_length})")
    if not text.strip():
        raise FilterSyntaxError(f"The {kind} is empty", 0)
    _check_depth(text, kind, max_depth)
    try:
        try:
            return _parse_shape(element, text)
        except pp.ParseBaseException:
            return element.parse_string(text)[0]  # the error, with positions in the text as sent
    except pp.ParseBaseException as exc:
        message = exc.msg[:1].upper() + exc.msg[1:]
        error = _error(message, text, exc.loc)
        if exc.msg == _OUT_OF_RANGE:
            error = FilterValueError(str(error), error.position)
        raise error from None
    except RecursionError:
        raise _error(f"The {kind} is nested too deeply", text, None) from None


def parse_filter(text: str, *, max_length: int = DEFAULT_MAX_LENGTH, max_depth: int = DEFAULT_MAX_DEPTH) -> Node:
    """Parse a SCIM ``filter`` expression into a :data:`Node` tree; raise :class:`FilterSyntaxError` if invalid.

    A value path followed by a sub-attribute test (``emails[type eq "work"].value eq "x"``, as Microsoft Entra
    sends) becomes ``ValueFilter(emails, And(<inner>, <value test>))``.
    """
    return _parse(_FILTER_TEXT, text, "filter", max_length, max_depth)


def parse_path(text: str, *, max_length: int = DEFAULT_MAX_LENGTH, max_depth: int = DEFAULT_MAX_DEPTH) -> PatchPath:
    """Parse a PATCH operation ``path`` (``attrPath`` or ``valuePath [subAttr]``); raise :class:`FilterSyntaxError`."""
    return _parse(_PATH_TEXT, text, "path", max_length, max_depth)
