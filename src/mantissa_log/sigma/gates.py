"""Gates: what every event a rule matches must hold, so that a hunt can skip rules an input cannot match.

A gate is a conjunction of clauses; a clause is a disjunction of tests `(read, op, text)`. A test
holds for an event when `lower(<read>)` (a struct leaf of `event`, as the rule's SQL reads it) compares
with `text` by `op`: `eq`, `prefix`, `suffix` or `contains`, exactly the comparison the rule's SQL
makes. The rule can match an event only if every clause has a test that holds for it; an empty gate
knows nothing (the rule is never skipped).

Derived from the rule's condition after its processing pipeline, the tree the backends convert:
- AND: the clauses of every part;
- OR: one clause made of one clause of each part (when every part has one);
- a regular expression on one struct leaf: `contains` the longest run of literal text every match
  holds (`regex_needle`), lower-cased: a necessary test, as a gate's tests need only be;
- NOT, and any other test (other regular expressions, numbers, null, keywords, cased strings, a field
  read more than one way or from JSON): nothing.
Only a case-insensitive Sigma string the backends compare without a LIKE pattern
(`backend_base.plain_comparison`), on a field read from one struct leaf, gives a test: its SQL is
`lower(<leaf>) = | starts_with | ends_with | contains '<text>'` with the text lower-cased in Python,
so a test on the leaf's distinct lowered values answers what the rule's SQL would. A hunt over a
small input reads those distinct values once and plans only the rules whose
clauses all hold (planning is most of a small hunt: `lake.detect.hunt`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.rule import SigmaRule
from sigma.types import SigmaCasedString, SigmaRegularExpression, SigmaString

from mantissa_log.sigma.backend_base import SqlPredicateBackend, plain_comparison
from mantissa_log.sigma.common import UnsupportedSigma
from mantissa_log.sigma.compiled import Gate, Test
from mantissa_log.sigma.fields import StructLeaf
from mantissa_log.sigma.regex_needle import regex_needle

# A gate's size is bounded: a clause with many tests rarely prunes and costs a check per test.
MAX_CLAUSE_TESTS = 64
MAX_CLAUSES = 16


def rule_gate(rule: SigmaRule, backend: SqlPredicateBackend) -> Gate:
    """The gate of a rule already processed by `backend`'s pipeline (its conditions are ORed)."""
    gates = [_gate(condition.parsed, backend) for condition in rule.detection.parsed_condition]
    return _any(gates)


def _gate(node: object, backend: SqlPredicateBackend) -> Gate:
    if isinstance(node, ConditionAND):
        clauses = [clause for arg in node.args for clause in _gate(arg, backend)]
        return tuple(dict.fromkeys(clauses))[:MAX_CLAUSES]
    if isinstance(node, ConditionOR):
        return _any([_gate(arg, backend) for arg in node.args])
    if isinstance(node, ConditionFieldEqualsValueExpression):
        test = _test(node, backend)
        return () if test is None else ((test,),)
    return ()  # NOT, keywords, anything else: nothing known


def _any(gates: Sequence[Gate]) -> Gate:
    """The gate of an OR: every part must know something; one clause (the smallest) of each, joined."""
    if len(gates) == 1:
        return gates[0]
    if not gates or any(not gate for gate in gates):
        return ()
    tests = tuple(dict.fromkeys(test for gate in gates for test in min(gate, key=len)))
    return (tests,) if len(tests) <= MAX_CLAUSE_TESTS else ()


def _test(node: ConditionFieldEqualsValueExpression, backend: SqlPredicateBackend) -> Test | None:
    value = node.value
    if not node.field or not isinstance(value, SigmaString | SigmaRegularExpression):
        return None
    if isinstance(value, SigmaCasedString) or (isinstance(value, SigmaString) and value.contains_placeholder()):
        return None
    try:
        accesses = backend.accesses(node.field)
    except UnsupportedSigma:  # the rule does not compile anyway
        return None
    if len(accesses) != 1 or not isinstance(accesses[0], StructLeaf):
        return None
    if isinstance(value, SigmaRegularExpression):
        # `regexp_matches(<leaf>, ...)` holds only where the leaf contains the regex's needle; lowered
        # on both sides it is a test on the lowered values (necessary, whatever the regex's flags).
        needle = regex_needle(str(value.regexp))
        return None if needle is None else (backend.field_read(accesses[0]), "contains", needle)
    plain = plain_comparison(value.lower())  # the comparison `string_pred` makes, on the lowered text
    return None if plain is None else (backend.field_read(accesses[0]), *plain)
