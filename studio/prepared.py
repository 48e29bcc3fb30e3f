"""Fixed-shape reads the ORM builds and compiles once per connection, then runs with new values.

The board page and its polls run the same dozen reads on every visit, and
for most of them building the QuerySet and compiling it to SQL takes more
CPU than the database spends answering (a py-spy profile of the board page
under load put building and compiling at two fifths of the web worker's
time). A `PreparedRows` builds its QuerySet once per connection with
stand-in values for its arguments, keeps the SQL the ORM wrote and where
each argument went, and from then on swaps the values in, runs the SQL and
converts the rows as the ORM would. The SQL stays the ORM's own, so the
models remain the one description of the tables.

Only for reads whose SQL does not depend on the arguments' values: whole
numbers (ids; never None, never a list, whose length would change the SQL),
and values_list() rows.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet

# Stand-ins for the arguments while compiling: whole numbers no id will ever be, each
# found again among the compiled SQL's parameters.
_STAND_IN = -7_340_000_001
# The widest integer column (a 64-bit id): a larger argument would be an error in SQL.
_ID_MIN, _ID_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple  # the compiled parameters, stand-ins included
    slots: tuple  # for each parameter: the argument it stands for, or None (a constant)
    converters: dict  # column position -> (converters, expression), as the ORM applies them


class PreparedRows:
    """`build(*ids)` returns a values_list() QuerySet; `rows(*ids)` its rows as tuples."""

    def __init__(self, model: type[Model], build: Callable[..., QuerySet], arity: int = 1):
        self.model = model
        self.build = build
        self.arity = arity
        # One compilation per connection object (Django keeps one per thread and alias).
        self._compiled: weakref.WeakKeyDictionary[BaseDatabaseWrapper, _Compiled] = (
            weakref.WeakKeyDictionary()
        )

    def rows(self, *args: int) -> list[tuple]:
        if len(args) != self.arity or any(type(a) is not int for a in args):
            raise TypeError(f"expected {self.arity} whole numbers, got {args!r}")
        if any(not _ID_MIN <= a <= _ID_MAX for a in args):
            return []  # no column holds it: nothing matches, as the ORM answers too
        connection = connections[router.db_for_read(self.model)]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compiled[connection] = self._compile(connection)
        values = [
            args[slot] if slot is not None else param
            for slot, param in zip(compiled.slots, compiled.params, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, values)
            rows = cursor.fetchall()
        if not compiled.converters:
            return [tuple(row) for row in rows]
        return [converted(row, compiled.converters, connection) for row in rows]

    def _compile(self, connection: BaseDatabaseWrapper) -> _Compiled:
        stand_ins = tuple(_STAND_IN - i for i in range(self.arity))
        queryset = self.build(*stand_ins)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        slots = tuple(
            stand_ins.index(p) if type(p) is int and p in stand_ins else None for p in params
        )
        if set(slots) - {None} != set(range(self.arity)):
            raise ValueError("the built query does not use every argument as a parameter")
        fields = [column for column, _, _ in compiler.select[: compiler.col_count]]
        return _Compiled(sql, tuple(params), slots, compiler.get_converters(fields))


def converted(row: Any, converters: dict, connection: BaseDatabaseWrapper) -> tuple:
    """`row` with each value converted as the ORM's compiler would (`converters`: column
    position -> (functions, expression), the shape of `SQLCompiler.get_converters`)."""
    values = list(row)
    for position, (functions, expression) in converters.items():
        value = values[position]
        for convert in functions:
            value = convert(value, expression, connection)
        values[position] = value
    return tuple(values)


def column_converters(model: type[Model], connection: BaseDatabaseWrapper) -> dict:
    """`converted`'s converters for a row of the model's columns in `fields_of` order (for
    SQL written by hand that selects them all)."""
    found = {}
    for position, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        functions = [
            *connection.ops.get_db_converters(column),
            *column.get_db_converters(connection),
        ]
        if functions:
            found[position] = (functions, column)
    return found


def fields_of(model: type[Model]) -> list[str]:
    """The columns (attnames) to read with values_list() to rebuild a `model` instance."""
    return [field.attname for field in model._meta.concrete_fields]


def instance_from(model: type[Model], values: tuple) -> Any:
    """A `model` instance from values read as `fields_of(model)`, built as the ORM builds
    the instances of a query (`Model.from_db`)."""
    return model.from_db(router.db_for_read(model), fields_of(model), values)
