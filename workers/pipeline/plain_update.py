"""The job's conditional UPDATE written as SQL directly, for the hot transitions.

Building an UPDATE through the ORM (a QuerySet, a WHERE tree, a compiler)
costs about a millisecond of CPU for a statement the database runs in a
tenth of that, and a panel goes through half a dozen of them. Here the SQL
is a string kept per set of column names, and values are prepared by each
field exactly as the ORM prepares them (`get_db_prep_save`), so what is
written is the same. Plain values and a column's own value plus or minus a
number (`F("attempts") + 1`) are handled; any other expression, or an extra
condition, goes through the ORM as before.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connections, router, transaction
from django.db.models import F, Model, Value
from django.db.models.expressions import CombinedExpression

from workers.models import GenerationJob


def update_job(job_id: int, states: list[str], fields: dict[str, Any]) -> int | None:
    """Rows changed by `UPDATE ... SET fields WHERE id = job_id AND state IN states`.

    None when a value is an expression this does not handle; the caller then
    uses the ORM.
    """
    if not states:
        return None
    alias = router.db_for_write(GenerationJob)
    connection = connections[alias]
    shape: list[tuple[str, str]] = []  # (field name, "=" or "+" or "-")
    params: list[Any] = []
    for name, value in fields.items():
        field = _field(name)
        if hasattr(value, "resolve_expression"):
            step = _own_value_plus(name, value)
            if step is None:
                return None
            shape.append((name, step[0]))
            params.append(step[1])
            continue
        if isinstance(value, Model):
            value = value.pk
        shape.append((name, "="))
        params.append(field.get_db_prep_save(value, connection=connection))
    sql = _statement(connection.vendor, tuple(shape), len(states))
    # As QuerySet.update(): an error inside an atomic block marks it for rollback.
    with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
        cursor.execute(sql, [*params, job_id, *states])
        return cursor.rowcount


def _own_value_plus(name: str, value: Any) -> tuple[str, int] | None:
    """("+", n) for F(name) + n, ("-", n) for F(name) - n; None for anything else."""
    if not isinstance(value, CombinedExpression) or value.connector not in ("+", "-"):
        return None
    lhs, rhs = value.lhs, value.rhs
    if not (isinstance(lhs, F) and getattr(lhs, "name", None) == name and isinstance(rhs, Value)):
        return None
    if not isinstance(rhs.value, int) or isinstance(rhs.value, bool):
        return None
    return value.connector, rhs.value


@cache
def _field(name: str):
    field = GenerationJob._meta.get_field(name)
    if not getattr(field, "concrete", False) or field.many_to_many:
        raise ValueError(f"{name!r} is not a column of GenerationJob")
    return field


@cache
def _statement(vendor: str, shape: tuple[tuple[str, str], ...], state_count: int) -> str:
    quote = connections[router.db_for_write(GenerationJob)].ops.quote_name

    def assign(name: str, how: str) -> str:
        column = quote(_field(name).column)
        return f"{column} = %s" if how == "=" else f"{column} = {column} {how} %s"

    sets = ", ".join(assign(name, how) for name, how in shape)
    states = ", ".join(["%s"] * state_count)
    where = f"{quote('id')} = %s AND {quote('state')} IN ({states})"
    # Only column names from the model go into the text; every value is a parameter.
    return f"UPDATE {quote(GenerationJob._meta.db_table)} SET {sets} WHERE {where}"  # noqa: S608
