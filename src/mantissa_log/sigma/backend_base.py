"""Shared pySigma backend: a Sigma rule becomes one never-NULL boolean SQL expression over `raw`/`event`.

Sigma semantics we implement for every dialect:
- strings compare case-insensitively as text (numbers and booleans too: `200` matches '200', `true`
  matches a JSON true); `*`/`?` are wildcards, a literal `%`, `_` or `\\` is escaped in LIKE;
- `null` is "absent or JSON null", never the empty string;
- every comparison is `COALESCE(..., false)`, so `NOT` over a missing field is true;
- a field that resolves to a list (list of structs, JSON arrays) matches when any element matches;
- a value without a field searches the raw event text.

The dialect subclasses only fill in the tokens and the few access functions. The same conversion
renders either plain AND/OR (`flag=False`, for WHERE) or CASE chains (`flag=True`): DuckDB evaluates
CASE lazily in a projection, where it does not short-circuit AND/OR.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.state import ConversionState
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)

from mantissa_log.sigma.budget import FieldTestBudget
from mantissa_log.sigma.common import Pred, UnsupportedSigma, json_escape, sql_literal, value_of
from mantissa_log.sigma.fields import (
    Access,
    FieldPathError,
    JsonValue,
    StructLeaf,
    StructListLeaf,
    resolve,
)


def plain_comparison(value: SigmaString) -> tuple[str, str] | None:
    """(op, text) when a Sigma string is plain text with at most a leading and a trailing `*`: `eq`,
    `prefix`, `suffix` or `contains` of that text (the empty string: `eq` of ""); None when it needs a
    LIKE pattern (`?`, an inner `*`, or nothing but `*`). The backends compare by it, and a rule's
    gate (`sigma.gates`) records the same comparison."""
    parts = list(value.s)
    lead = bool(parts) and parts[0] == SpecialChars.WILDCARD_MULTI
    trail = len(parts) > int(lead) and parts[-1] == SpecialChars.WILDCARD_MULTI
    middle = parts[int(lead) : len(parts) - int(trail)]
    if middle and all(isinstance(part, str) for part in middle):
        op = {(False, False): "eq", (False, True): "prefix", (True, False): "suffix", (True, True): "contains"}
        return op[(lead, trail)], "".join(str(part) for part in middle)
    return ("eq", "") if not parts else None


class SqlPredicateBackend(TextQueryBackend):
    """Base for the DuckDB and Athena backends; see the module docstring."""

    name: ClassVar[str] = "mantissa SQL predicate"
    formats: ClassVar[dict[str, str]] = {"default": "one boolean SQL expression per rule"}

    # Boolean operators (plain form) and the CASE chain used for the flag form.
    or_token: ClassVar[str] = "OR"
    and_token: ClassVar[str] = "AND"
    not_token: ClassVar[str] = "NOT"
    eq_token: ClassVar[str] = "="
    group_expression: ClassVar[str] = "({expr})"
    case_and_step: ClassVar[str] = "WHEN NOT {expr} THEN false"
    case_or_step: ClassVar[str] = "WHEN {expr} THEN true"
    case_expression: ClassVar[str] = "CASE {steps} ELSE {last} END"
    # Wrapped around every atomic comparison: a NULL (missing field) reads as false.
    null_safe_expression: ClassVar[str] = "COALESCE({expr}, false)"

    # LIKE patterns: Sigma wildcards become %/_; literal %, _ and the escape itself are escaped.
    str_quote: ClassVar[str] = "'"
    escape_char: ClassVar[str] = "\\"
    wildcard_multi: ClassVar[str] = "%"
    wildcard_single: ClassVar[str] = "_"
    add_escaped: ClassVar[str] = "\\"

    # Case-insensitive matching lowers the event side; rule literals are lowered in Python.
    lower_expression: ClassVar[str] = "lower({value})"
    # Comparisons: {value} is the event text, {literal} the quoted rule text, {pattern} the
    # quoted LIKE pattern equivalent to the same test (dialects pick whichever is faster).
    text_eq_expression: ClassVar[str] = "{value} = {literal}"
    text_startswith_expression: ClassVar[str] = "{value} LIKE {pattern} ESCAPE '\\'"
    text_endswith_expression: ClassVar[str] = "{value} LIKE {pattern} ESCAPE '\\'"
    text_contains_expression: ClassVar[str] = "{value} LIKE {pattern} ESCAPE '\\'"
    text_like_expression: ClassVar[str] = "{value} LIKE {pattern} ESCAPE '\\'"
    # Regular expressions: unanchored search; flags become an inline (?ims) prefix.
    regex_expression: ClassVar[str] = "regexp_like({value}, {regex})"
    # Numeric comparison (lt, lte, gt, gte modifiers) on the text value.
    numeric_compare_expression: ClassVar[str] = "TRY_CAST({value} AS DOUBLE) {operator} {number}"
    numeric_operators: ClassVar[dict[Any, str]] = {
        SigmaCompareExpression.CompareOperators.LT: "<",
        SigmaCompareExpression.CompareOperators.LTE: "<=",
        SigmaCompareExpression.CompareOperators.GT: ">",
        SigmaCompareExpression.CompareOperators.GTE: ">=",
    }
    # `null` / `exists`: per value; a field is absent when none of its alternatives has a value.
    value_present_expression: ClassVar[str] = "{value} IS NOT NULL"
    # fieldref: both sides are event values, so they are compared without LIKE.
    fieldref_eq_expression: ClassVar[str] = "lower({value}) = lower({other})"
    fieldref_startswith_expression: ClassVar[str] = "starts_with(lower({value}), lower({other}))"
    fieldref_endswith_expression: ClassVar[str] = "ends_with(lower({value}), lower({other}))"
    fieldref_contains_expression: ClassVar[str] = "contains(lower({value}), lower({other}))"
    # Keyword (fieldless) values search this column: the whole event as JSON text.
    raw_column: ClassVar[str] = "raw"
    event_column: ClassVar[str] = "event"
    # Lists: "any element satisfies" and "map each element"; {var} is the lambda parameter.
    any_expression: ClassVar[str] = "any_match({list}, {var} -> {predicate})"
    map_expression: ClassVar[str] = "transform({list}, {var} -> {expr})"
    filter_expression: ClassVar[str] = "filter({list}, {var} -> {predicate})"
    flatten_expression: ClassVar[str] = "flatten({list})"
    struct_field_expression: ClassVar[str] = '{base}."{name}"'

    def __init__(
        self,
        processing_pipeline: ProcessingPipeline | None = None,
        collect_errors: bool = False,
        *,
        structure: dict[str, Any] | None = None,
        flag: bool = False,
    ) -> None:
        super().__init__(processing_pipeline, collect_errors)
        self.structure: dict[str, Any] = structure or {}
        self.flag = flag
        self._depth = 0  # lambda nesting, for distinct parameter names
        self._budget = FieldTestBudget()

    # ---- entry points -------------------------------------------------------------------
    def rule_expression(self, rule: SigmaRule, *, flag: bool | None = None) -> str:
        """The rule as one boolean expression; the rule is copied, never mutated."""
        return self.rule_expressions(rule, (self.flag if flag is None else flag,))[0]

    def rule_expressions(self, rule: SigmaRule, flags: tuple[bool, ...]) -> list[str]:
        """The rule once per form in `flags`, from one processed copy (copying a large rule costs more
        than converting it)."""
        return self.processed_expressions(self.processed(rule), flags)

    def processed(self, rule: SigmaRule) -> SigmaRule:
        """A copy of the rule with this backend's processing pipeline applied (the rule is not mutated).

        Backends built with the same pipeline can all convert this one copy (`processed_expressions`):
        the copy is about a quarter of compiling a rule."""
        rule = copy.deepcopy(rule)
        self.init_processing_pipeline()
        self.last_processing_pipeline.apply(rule)
        return rule

    def processed_expressions(self, rule: SigmaRule, flags: tuple[bool, ...]) -> list[str]:
        """The rule, already `processed` by a backend with this backend's pipeline, once per form in `flags`."""
        saved = self.flag
        try:
            expressions = []
            for flag in flags:
                self.flag = flag
                self._budget = FieldTestBudget()
                parts = [self._expr(cond.parsed, ConversionState()) for cond in rule.detection.parsed_condition]
                expressions.append(self._or(parts))
            return expressions
        finally:
            self.flag = saved

    def any_of(self, parts: list[str], *, flag: bool) -> str:
        """OR of never-NULL expressions, plain or CASE-chained."""
        saved, self.flag = self.flag, flag
        try:
            return self._or(parts)
        finally:
            self.flag = saved

    def field_value(self, field: str) -> str:
        """One SQL value for a field (correlation group-by): its first way of reading it."""
        return self._value(self._access(field)[0])[0]

    def finalize_query_default(self, rule: Any, query: str, index: int, state: ConversionState) -> Any:
        return query  # the expression itself: callers embed it in their own SELECT

    # ---- boolean structure --------------------------------------------------------------
    def _expr(self, cond: Any, state: ConversionState) -> str:
        result = self.convert_condition(cond, state)
        if not isinstance(result, str):
            raise UnsupportedSigma(f"condition element {type(cond).__name__} has no SQL form")
        return result

    def _and(self, parts: list[str]) -> str:
        if len(parts) == 1:
            return parts[0]
        if self.flag:
            steps = " ".join(self.case_and_step.format(expr=part) for part in parts[:-1])
            return self.case_expression.format(steps=steps, last=parts[-1])
        return self.group_expression.format(expr=f" {self.and_token} ".join(parts))

    def _or(self, parts: list[str]) -> str:
        if len(parts) == 1:
            return parts[0]
        if self.flag:
            steps = " ".join(self.case_or_step.format(expr=part) for part in parts[:-1])
            return self.case_expression.format(steps=steps, last=parts[-1])
        return self.group_expression.format(expr=f" {self.or_token} ".join(parts))

    def _not(self, part: str) -> str:
        # Composite operands are always bracketed (or CASE ... END), so a leading NOT negates it all.
        prefix = f"{self.not_token} "
        return part[len(prefix) :] if part.startswith(prefix) else prefix + part

    def convert_condition_and(self, cond: ConditionAND, state: ConversionState) -> str:
        return self._and([self._expr(arg, state) for arg in cond.args])

    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> str:
        return self._or([self._expr(arg, state) for arg in cond.args])

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> str:
        return self._not(self._expr(cond.args[0], state))

    def convert_condition_group(self, cond: ConditionItem | Any, state: ConversionState) -> str:
        return self._expr(cond, state)

    # ---- field access -------------------------------------------------------------------
    def _access(self, field: str | None) -> list[Access]:
        if not field:
            raise UnsupportedSigma("value without a field in a field comparison")
        try:
            return resolve(self.structure, field)
        except FieldPathError as error:
            raise UnsupportedSigma(str(error), field=field) from error

    def accesses(self, field: str) -> list[Access]:
        """The ways this backend reads `field` (UnsupportedSigma when the structure has no such field)."""
        return self._access(field)

    def field_read(self, access: StructLeaf) -> str:
        """The SQL read of a struct leaf, as the rule's expressions write it (before `lower`)."""
        return self._struct(self.event_column, access.path)

    def _struct(self, base: str, path: tuple[str, ...]) -> str:
        for name in path:
            base = self.struct_field_expression.format(base=base, name=name.replace('"', '""'))
        return base

    def _lambda_var(self) -> str:
        return f"x{self._depth + 1}"

    def _map(self, list_sql: str, body: Pred) -> str:
        var = self._lambda_var()
        self._depth += 1
        try:
            return self.map_expression.format(list=list_sql, var=var, expr=body(var))
        finally:
            self._depth -= 1

    def _filter(self, list_sql: str, pred: Pred) -> str:
        var = self._lambda_var()
        self._depth += 1
        try:
            return self.filter_expression.format(list=list_sql, var=var, predicate=pred(var))
        finally:
            self._depth -= 1

    def _any(self, list_sql: str, pred: Pred) -> str:
        var = self._lambda_var()
        self._depth += 1
        try:
            return self.any_expression.format(list=list_sql, var=var, predicate=pred(var))
        finally:
            self._depth -= 1

    def json_value(self, access: JsonValue) -> str:
        """SQL for a JSON read: VARCHAR text, or a list of them when the path has EACH steps."""
        raise NotImplementedError

    def _value(self, access: Access) -> tuple[str, bool]:
        """(SQL, is_list) for one way of reading a field."""
        if isinstance(access, StructLeaf):
            return self.field_read(access), False
        if isinstance(access, StructListLeaf):
            base = self._struct(self.event_column, access.list_path)
            return self._map(base, lambda var: self._struct(var, access.inner)), True
        return self.json_value(access), access.is_list

    def _holds(self, access: Access, pred: Pred) -> str:
        """Boolean SQL (may be NULL): the predicate holds for the value, or for any element."""
        sql, is_list = self._value(access)
        return self._any(sql, pred) if is_list else pred(sql)

    def field_test(self, field: str | None, pred: Pred) -> str:
        """Never-NULL test: some value of the field satisfies `pred`."""
        accesses = self._access(field)
        self._budget.spend(len(accesses), field)
        return self._or([self.null_safe_expression.format(expr=self._holds(a, pred)) for a in accesses])

    def field_present(self, field: str | None) -> str:
        return self.field_test(field, lambda value: self.value_present_expression.format(value=value))

    # ---- string matching ----------------------------------------------------------------
    def _pattern(self, value: SigmaString) -> str:
        return value.convert(
            escape_char=self.escape_char,
            wildcard_multi=self.wildcard_multi,
            wildcard_single=self.wildcard_single,
            add_escaped=self.add_escaped + self.wildcard_multi + self.wildcard_single,
        )

    def string_pred(self, value: SigmaString, *, cased: bool) -> Pred:
        """A comparison of event text with a Sigma string (wildcards, contains, startswith, ...)."""
        if value.contains_placeholder():
            raise UnsupportedSigma(f"placeholder in value '{value}' (no pipeline defines it)")
        if not cased:
            value = value.lower()
        pattern = sql_literal(self._pattern(value))
        plain = plain_comparison(value)
        if plain is None:
            text, template = "", self.text_like_expression
        else:
            op, text = plain
            template = {
                "eq": self.text_eq_expression,
                "prefix": self.text_startswith_expression,
                "suffix": self.text_endswith_expression,
                "contains": self.text_contains_expression,
            }[op]
        literal = sql_literal(text)

        def pred(sql: str) -> str:
            subject = sql if cased else self.lower_expression.format(value=sql)
            return template.format(value=subject, literal=literal, pattern=pattern)

        return pred

    def regex_text(self, regex: SigmaRegularExpression, field: str | None) -> str:
        """The regex with its flags inline; dialects refuse constructs their engine lacks."""
        flags = "".join(sorted(SigmaRegularExpression.sigma_to_re_flag[flag] for flag in regex.flags))
        return (f"(?{flags})" if flags else "") + str(regex.regexp)

    def regex_pred(self, regex: SigmaRegularExpression, field: str | None) -> Pred:
        literal = sql_literal(self.regex_text(regex, field))
        return lambda sql: self.regex_expression.format(value=sql, regex=literal)

    def cidr_pred(self, cidr: SigmaCIDRExpression, field: str | None) -> Pred:
        raise NotImplementedError

    # ---- pySigma dispatch: field = value ------------------------------------------------
    def convert_condition_field_eq_val_str(self, cond: ConditionFieldEqualsValueExpression, state: Any) -> str:
        return self.field_test(cond.field, self.string_pred(value_of(cond, SigmaString), cased=False))

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: Any
    ) -> str:
        return self.field_test(cond.field, self.string_pred(value_of(cond, SigmaString), cased=True))

    def convert_condition_field_eq_val_num(self, cond: ConditionFieldEqualsValueExpression, state: Any) -> str:
        # Numbers compare as text: a JSON 200 and a JSON "200" both read as '200'.
        return self.field_test(
            cond.field, self.string_pred(SigmaString(str(value_of(cond, SigmaNumber).number)), cased=True)
        )

    def convert_condition_field_eq_val_bool(self, cond: ConditionFieldEqualsValueExpression, state: Any) -> str:
        text = "true" if value_of(cond, SigmaBool).boolean else "false"
        return self.field_test(cond.field, self.string_pred(SigmaString(text), cased=False))

    def convert_condition_field_eq_val_re(self, cond: ConditionFieldEqualsValueExpression, state: Any) -> str:
        return self.field_test(cond.field, self.regex_pred(value_of(cond, SigmaRegularExpression), cond.field))

    def convert_condition_field_eq_val_cidr(self, cond: ConditionFieldEqualsValueExpression, state: Any) -> str:
        return self.field_test(cond.field, self.cidr_pred(value_of(cond, SigmaCIDRExpression), cond.field))

    def convert_condition_field_compare_op_val(self, cond: ConditionFieldEqualsValueExpression, state: Any) -> str:
        value = value_of(cond, SigmaCompareExpression)
        operator = self.numeric_operators[value.op]
        number = str(value.number.number)
        return self.field_test(
            cond.field,
            lambda sql: self.numeric_compare_expression.format(value=sql, operator=operator, number=number),
        )

    def convert_condition_field_eq_field(self, cond: ConditionFieldEqualsValueExpression, state: Any) -> str:
        ref = value_of(cond, SigmaFieldReference)
        template = {
            (False, False): self.fieldref_eq_expression,
            (True, False): self.fieldref_startswith_expression,
            (False, True): self.fieldref_endswith_expression,
            (True, True): self.fieldref_contains_expression,
        }[(ref.starts_with, ref.ends_with)]
        others = self._access(ref.field)

        def pred(value: str) -> str:
            return self._or(
                [
                    self.null_safe_expression.format(
                        expr=self._holds(other, lambda other_sql: template.format(value=value, other=other_sql))
                    )
                    for other in others
                ]
            )

        return self.field_test(cond.field, pred)

    def convert_condition_field_eq_val_null(self, cond: ConditionFieldEqualsValueExpression, state: Any) -> str:
        return self._not(self.field_present(cond.field))

    def convert_condition_field_eq_val_exists(self, cond: ConditionFieldEqualsValueExpression, state: Any) -> str:
        value = value_of(cond, SigmaExists)
        present = self.field_present(cond.field)
        return present if value.exists else self._not(present)

    def convert_condition_field_eq_expansion(self, cond: ConditionFieldEqualsValueExpression, state: Any) -> str:
        expansion = value_of(cond, SigmaExpansion)
        return self._or(
            [self._expr(ConditionFieldEqualsValueExpression(cond.field, value), state) for value in expansion.values]
        )

    def convert_condition_field_eq_val_timestamp_part(self, cond: Any, state: Any) -> str:
        raise UnsupportedSigma("time-part modifiers (minute, hour, ...) are not supported", field=cond.field)

    def convert_condition_field_eq_query_expr(self, cond: Any, state: Any) -> str:
        raise UnsupportedSigma("query expressions are not supported", field=cond.field)

    # ---- pySigma dispatch: keywords (values without a field) ----------------------------
    def _raw_test(self, pred: Pred) -> str:
        self._budget.spend(1)
        return self.null_safe_expression.format(expr=pred(self.raw_column))

    def convert_condition_val_str(self, cond: ConditionValueExpression, state: Any) -> str:
        value = value_of(cond, SigmaString)
        # The raw text is JSON: a keyword is searched in its JSON-escaped spelling.
        escaped = value.map_str_parts(lambda part: json_escape(part))
        cased = isinstance(value, SigmaCasedString)
        keyword = SpecialChars.WILDCARD_MULTI + escaped + SpecialChars.WILDCARD_MULTI
        return self._raw_test(self.string_pred(keyword, cased=cased))

    def convert_condition_val_num(self, cond: ConditionValueExpression, state: Any) -> str:
        text = SigmaString(str(value_of(cond, SigmaNumber).number))
        return self._raw_test(
            self.string_pred(SpecialChars.WILDCARD_MULTI + text + SpecialChars.WILDCARD_MULTI, cased=True)
        )

    def convert_condition_val_re(self, cond: ConditionValueExpression, state: Any) -> str:
        return self._raw_test(self.regex_pred(value_of(cond, SigmaRegularExpression), None))

    def convert_condition_val(self, cond: ConditionValueExpression, state: ConversionState) -> Any:
        if isinstance(cond.value, SigmaExpansion):
            values = cond.value.values
            return self._or([self._expr(ConditionValueExpression(value), state) for value in values])
        return super().convert_condition_val(cond, state)

    def convert_condition_query_expr(self, cond: ConditionValueExpression, state: Any) -> str:
        raise UnsupportedSigma("query expressions are not supported")
