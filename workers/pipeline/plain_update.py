"""The job's conditional UPDATE written as SQL directly, for the hot transitions.

Building an UPDATE through the ORM (a QuerySet, a WHERE tree, a compiler)
costs about a millisecond of CPU for a statement the database runs in a
tenth of that, and a panel goes through half a dozen of them. Here the SQL
is a string kept per set of column names, and values are prepared by each
field exactly as the ORM prepares them (`get_db_prep_save`), so what is
written is the same. Plain values and a column's own value plus or minus a
number (`F("attempts") + 1`) are handled; any other expression, or an extra
condition, goes through the ORM as before.

Reading a job is the same story (a SELECT through the ORM compiles a
WHERE tree and the list of columns every time): `select_job` and
`has_followers` are `studio.prepared` reads; `claim_job` (UPDATE ...
RETURNING) and `oldest_waiting` (a string and a time among their values,
which prepared reads do not take) are SQL kept per shape, their rows
turned into a model with the converters the ORM would apply.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Count, F, Model, QuerySet, Subquery, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce
from django.db.models.lookups import LessThan

from studio.prepared import (
    PreparedRows,
    column_converters,
    converted,
    fields_of,
    instance_from,
)
from workers.models import GenerationJob


class SlotFree(LessThan):
    """Fewer than `cap` of the backend's jobs hold a provider slot: a claim's condition.

    A plain LessThan to the ORM; `update_job` writes it as SQL.
    """

    def __init__(self, backend: str, cap: int) -> None:
        counted = (
            GenerationJob.objects.filter(backend=backend, state__in=GenerationJob.SLOT_STATES)
            .order_by()
            .values("backend")
            .annotate(n=Count("pk"))
            .values("n")
        )
        super().__init__(Coalesce(Subquery(counted), 0), cap)
        self.backend = backend
        self.cap = cap


def update_job(
    job_id: int, states: list[str], fields: dict[str, Any], conditions: tuple = ()
) -> int | None:
    """Rows changed by `UPDATE ... SET fields WHERE id = job_id AND state IN states`
    (and a free slot, when `conditions` is one `SlotFree`).

    None when a value is an expression or a condition this does not handle;
    the caller then uses the ORM.
    """
    if not states or len(conditions) > 1:
        return None
    slot = conditions[0] if conditions else None
    if slot is not None and not isinstance(slot, SlotFree):
        return None
    alias = router.db_for_write(GenerationJob)
    connection = connections[alias]
    prepared = _prepared(fields, connection)
    if prepared is None:
        return None
    shape, params = prepared
    sql = _statement(connection.vendor, shape, len(states))
    params = [*params, job_id, *states]
    if slot is not None:
        sql += f" AND {_in_flight_sql(alias, len(GenerationJob.SLOT_STATES))} < %s"
        params += [slot.backend, *GenerationJob.SLOT_STATES, slot.cap]
    # As QuerySet.update(): an error inside an atomic block marks it for rollback.
    with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def claim_job(
    job_id: int, states: list[str], fields: dict[str, Any], *, due_by: datetime
) -> GenerationJob | None:
    """`update_job` for a job whose `next_poll_at` is unset or not after `due_by`,
    returning the job as written (None when no row changed).

    One statement where a claim and a read of the row were two. Plain values only.
    """
    alias = router.db_for_write(GenerationJob)
    connection = connections[alias]
    prepared = _prepared(fields, connection)
    if prepared is None or not states:
        raise ValueError("claim_job takes plain values and at least one state")
    shape, params = prepared
    sql = _statement(connection.vendor, shape, len(states))
    next_poll = connection.ops.quote_name(_field("next_poll_at").column)
    sql += f" AND ({next_poll} IS NULL OR {next_poll} <= %s) RETURNING {_select_list(alias)}"
    due = _field("next_poll_at").get_db_prep_value(due_by, connection=connection)
    with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
        cursor.execute(sql, [*params, job_id, *states, due])
        row = cursor.fetchone()
    return None if row is None else _instance(alias, row)


def select_job(job_id: int, state: str | None = None) -> GenerationJob | None:
    """The job (only if it is in `state`, when given), read by a prepared query."""
    rows = _job_read(state).rows(job_id)
    return instance_from(GenerationJob, rows[0]) if rows else None


@cache
def _job_read(state: str | None) -> PreparedRows:
    def build(job_id: int) -> QuerySet:
        found = GenerationJob.objects.filter(pk=job_id)
        if state is not None:
            found = found.filter(state=state)
        return found.values_list(*fields_of(GenerationJob))

    return PreparedRows(GenerationJob, build)


def oldest_waiting(
    backend: str, *, kicked_before: datetime, slot_states: tuple[str, ...]
) -> tuple[GenerationJob | None, int]:
    """The backend's oldest queued job not kicked since `kicked_before`, and how many
    of its jobs are in `slot_states`, read in one statement (the slots lock is the caller's).
    """
    alias = router.db_for_write(GenerationJob)
    connection = connections[alias]
    kicked = _field("next_poll_at").get_db_prep_value(kicked_before, connection=connection)
    params = [backend, *slot_states, backend, GenerationJob.State.QUEUED, kicked]
    with connection.cursor() as cursor:
        cursor.execute(_waiting_statement(alias, len(slot_states)), params)
        row = cursor.fetchone()
    if row is None:
        return None, 0
    return _instance(alias, row[:-1]), row[-1]


def has_followers(job_id: int) -> bool:
    """Whether some job waits for this one (`after`) in state `waiting`."""
    return bool(_FOLLOWER.rows(job_id))


_FOLLOWER = PreparedRows(
    GenerationJob,
    lambda job_id: GenerationJob.objects.filter(
        after_id=job_id, state=GenerationJob.State.WAITING
    ).values_list("pk")[:1],
)


@cache
def _waiting_statement(alias: str, slot_state_count: int) -> str:
    quote = connections[alias].ops.quote_name
    table = quote(GenerationJob._meta.db_table)
    backend, state = quote("backend"), quote("state")
    next_poll = quote(_field("next_poll_at").column)
    return (
        f"SELECT {_select_list(alias)}, {_in_flight_sql(alias, slot_state_count)} "  # noqa: S608
        f"FROM {table} "
        f"WHERE {table}.{backend} = %s AND {table}.{state} = %s "
        f"AND ({table}.{next_poll} IS NULL OR {table}.{next_poll} < %s) "
        f"ORDER BY {table}.{quote('created')}, {table}.{quote('id')} LIMIT 1"
    )


@cache
def _in_flight_sql(alias: str, state_count: int) -> str:
    """How many of a backend's jobs are in the given states, as a scalar subquery."""
    quote = connections[alias].ops.quote_name
    table = quote(GenerationJob._meta.db_table)
    states = ", ".join(["%s"] * state_count)
    return (
        f"(SELECT COUNT(*) FROM {table} U0 "  # noqa: S608
        f"WHERE U0.{quote('backend')} = %s AND U0.{quote('state')} IN ({states}))"
    )


def _prepared(fields: dict[str, Any], connection) -> tuple[tuple, list] | None:
    """The SET clause's shape ((field name, "=" or "+" or "-"), ...) and its parameters."""
    shape: list[tuple[str, str]] = []
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
    return tuple(shape), params


@cache
def _select_list(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    table = quote(GenerationJob._meta.db_table)
    columns = [quote(str(f.column)) for f in GenerationJob._meta.concrete_fields]
    return ", ".join(f"{table}.{column}" for column in columns)


@cache
def _converters(alias: str) -> dict:
    """What the ORM's compiler applies to each column of a row of `_select_list`."""
    return column_converters(GenerationJob, connections[alias])


def _instance(alias: str, row) -> GenerationJob:
    """A job from a row of `_select_list`'s columns, converted as the ORM converts them."""
    values = converted(row, _converters(alias), connections[alias])
    return instance_from(GenerationJob, values)


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
