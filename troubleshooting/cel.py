"""The one adapter between playbooks and CEL (the `common-expression-language` package).

Conditions in `decide` nodes are CEL expressions over the session's facts, each fact a
top-level variable (`user_status == "locked_out" && open_fraud_signals == 0`). Nothing else in
the app imports `cel`, so the library can be swapped here alone.

- `compile_condition(expr)` parses once (cached) and raises ConditionSyntaxError with the
  library's message.
- `evaluate(expr, facts)` returns a bool or raises ConditionEvaluationError — for a missing
  fact, a type mismatch, a division by zero or a non-boolean result alike — which the engine
  routes to the node's `on_error` branch instead of letting it reach the wizard.
- `referenced_facts(expr)` lists the facts an expression reads, for the linter.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import cel


class ConditionError(Exception):
    """Base class for problems with a condition."""


class ConditionSyntaxError(ConditionError):
    """The expression does not parse."""


class ConditionEvaluationError(ConditionError):
    """The expression parsed but could not be evaluated to true or false with these facts."""


# Macros that bind a variable: `list.exists(x, x > 1)`; the bound name is not a fact.
_BINDING_MACRO = re.compile(
    r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,"
)


@lru_cache(maxsize=1024)
def compile_condition(expression: str) -> Any:
    """The compiled program for `expression`. Raises ConditionSyntaxError."""
    try:
        return cel.compile(expression)
    except Exception as exc:  # the library raises ValueError; any failure is a syntax problem
        raise ConditionSyntaxError(f"{expression!r} does not compile: {exc}") from None


def referenced_facts(expression: str) -> frozenset[str]:
    """The fact names `expression` reads (comprehension variables excluded).

    Raises ConditionSyntaxError."""
    program = compile_condition(expression)
    bound = set(_BINDING_MACRO.findall(expression))
    return frozenset(name for name in program.variables() if name not in bound)


def evaluate(expression: str, facts: dict[str, Any]) -> bool:
    """Evaluates `expression` against `facts` (plain JSON values).

    Raises ConditionSyntaxError or ConditionEvaluationError; never anything else."""
    program = compile_condition(expression)
    try:
        result = program.execute(dict(facts))
    except Exception as exc:  # RuntimeError, TypeError, KeyError, ZeroDivisionError …
        raise ConditionEvaluationError(
            f"{expression!r} could not be evaluated: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(result, bool):
        raise ConditionEvaluationError(f"{expression!r} gave {result!r}, not true or false")
    return result
