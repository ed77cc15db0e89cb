"""The complexity budget of a filter: how much work its shape asks of the database, counted on the AST.

A filter's length and nesting are bounded by the grammar; its cost is not: fifty ``emails[value co "x"]``
clauses fit in 4 KiB and each is a subquery scanning every e-mail row. :func:`check_budget` counts
comparisons, value filters and substring comparisons (``co``/``ew``, which no B-tree index serves) and
raises :class:`FilterTooComplex` beyond the limits. Like the grammar, it needs neither Django nor DRF.
"""

from __future__ import annotations

from dataclasses import dataclass

from .nodes import And, Comparison, Node, Not, Or, Present, ValueFilter

__all__ = ["FilterCost", "FilterTooComplex", "check_budget", "cost_of"]

SUBSTRING_OPERATORS = frozenset({"co", "ew"})
PATTERN_OPERATORS = frozenset({"co", "sw", "ew"})  # pattern operators: their best plan depends on the value


class FilterTooComplex(ValueError):
    """The filter asks for more work than the budget allows."""


@dataclass
class FilterCost:
    clauses: int = 0
    value_filters: int = 0
    substring_clauses: int = 0
    pattern_clauses: int = 0


def cost_of(node: Node) -> FilterCost:
    """What ``node`` costs, counted without recursion (the depth is bounded, but the chains of and/or are not)."""
    cost = FilterCost()
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (And, Or)):
            stack.extend((current.left, current.right))
        elif isinstance(current, Not):
            stack.append(current.operand)
        elif isinstance(current, ValueFilter):
            cost.value_filters += 1
            stack.append(current.filter)
        elif isinstance(current, Comparison):
            cost.clauses += 1
            cost.substring_clauses += current.operator in SUBSTRING_OPERATORS
            cost.pattern_clauses += current.operator in PATTERN_OPERATORS
        elif isinstance(current, Present):
            cost.clauses += 1
    return cost


def check_budget(node: Node, *, max_clauses: int, max_value_filters: int, max_substring_clauses: int) -> FilterCost:
    """The cost of ``node``; :class:`FilterTooComplex` when it exceeds a limit (a limit of 0 or None: none)."""
    cost = cost_of(node)
    for count, limit, what, setting in (
        (cost.clauses, max_clauses, "comparisons", "FILTER_MAX_CLAUSES"),
        (cost.value_filters, max_value_filters, "value filters (attribute[...])", "FILTER_MAX_VALUE_FILTERS"),
        (cost.substring_clauses, max_substring_clauses, "co/ew comparisons", "FILTER_MAX_SUBSTRING_CLAUSES"),
    ):
        if limit and count > limit:
            raise FilterTooComplex(
                f"The filter has {count} {what}; at most {limit} are allowed ({setting}). Narrow it, or split it "
                "into several requests."
            )
    return cost
