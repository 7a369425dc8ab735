"""Prebuilt Core statements run on the driver's own cursor on SQLite.

A hall's answers run a few fixed statements thousands of times a minute on the group-commit
writer's thread. Through ``Connection.execute`` most of each statement's time with the GIL held
was SQLAlchemy's (the compiled cache's lookup, an execution context, a result object), while
SQLite itself releases the GIL. Here a statement is compiled once per dialect and run with
``cursor.execute``: the same SQL text as Core's, and each parameter made by its type's own bind
processor, so the same bytes are stored. It runs on the Connection's own DBAPI connection, in
the Connection's transaction.

On other engines (PostgreSQL through asyncpg: a round trip a statement anyway) the statement
goes through ``Connection.execute``. Either way the caller gets plain tuples of the values as
the driver returns them, with no result processing: a Boolean or an EXISTS is 0 or 1 on SQLite
and a bool on PostgreSQL, so callers read such flags with ``bool()``; statements that return
what a type must convert (a datetime, JSON) are run on Core instead.

What runs on the cursor passes no engine event (``before_cursor_execute``, ``echo``): on
SQLite a listener sees only the writer's BEGIN; ``tests/services/test_group_commit.py`` counts
these statements with SQLite's own trace instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TupleType

#: Forms kept per statement; any more dialects (tests make engines by the hundred) start over.
_DIALECTS = 8
#: Lengths of an expanding IN list kept per statement; a longer variety runs on Core. Callers
#: bound their lists far below (``opener.MAX_CHOICES``).
MAX_VARIANTS = 64


class _Position(NamedTuple):
    """Where the value of one ``?`` comes from."""

    key: str
    #: The element of an expanding list's value, or ``None`` for a plain value.
    element: int | None
    required: bool
    default: Any  # for a parameter with a value of its own (a literal in the statement)
    process: Callable[[Any], Any] | None


class _Form(NamedTuple):
    sql: str
    positions: tuple[_Position, ...]
    #: Every parameter it reads: a call with others runs on Core, which would use them (an
    #: ``insert(table)`` compiled without them here is ``DEFAULT VALUES``).
    keys: frozenset[str]


class _Plan:
    """A statement compiled for one dialect, and its forms by the length of its IN list; with
    nothing compiled (``core``) it runs through ``Connection.execute`` on this dialect."""

    def __init__(self, compiled: SQLCompiler | None, expanding: str | None) -> None:
        self.compiled = compiled
        self.expanding = expanding  # the key of the one expanding IN list, if any
        self.forms: dict[int, _Form] = {}  # by the expanding list's length (0 without one)

    @property
    def core(self) -> bool:
        return self.compiled is None


class Prepared:
    """A Core statement that runs on the raw DBAPI cursor on SQLite, compiled once a dialect.

    ``column_keys`` names an INSERT's columns when the statement does not (``insert(table)``):
    Core compiles such an INSERT for the keys of each call's parameters; here they are fixed.
    """

    __slots__ = ("_column_keys", "_plans", "statement")

    def __init__(self, statement: Executable, *, column_keys: Sequence[str] = ()) -> None:
        self.statement = statement
        self._column_keys = list(column_keys)
        self._plans: dict[Dialect, _Plan] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row the statement returns, as plain tuples."""
        return self._run(connection, params)[0]

    def first(self, connection: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        rows = self._run(connection, params)[0]
        return rows[0] if rows else None

    def one(self, connection: Connection, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """The one row, or ``NoResultFound`` / ``MultipleResultsFound`` as Core raises them."""
        rows = self._run(connection, params)[0]
        if not rows:
            raise exc.NoResultFound("No row was found when one was required")
        if len(rows) > 1:
            raise exc.MultipleResultsFound("Multiple rows were found when exactly one was required")
        return rows[0]

    def count(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """The rows a statement without RETURNING wrote (one with it: the rows it returned)."""
        return self._run(connection, params)[1]

    def _run(
        self, connection: Connection, params: Mapping[str, Any]
    ) -> tuple[list[tuple[Any, ...]], int]:
        dialect = connection.dialect
        plan = self._plans.get(dialect) or self._plan(dialect)
        form = None if plan.core else self._form(plan, params)
        if form is None or not form.keys.issuperset(params):
            result = connection.execute(self.statement, params)
            if not result.returns_rows:
                return [], result.rowcount
            rows = [tuple(row) for row in result]
            return rows, len(rows)
        try:
            values = [_value(position, params) for position in form.positions]
        except KeyError as missing:
            required = f"A value is required for bind parameter {missing.args[0]!r}"
            refused = exc.InvalidRequestError(required, code="cd3x")
            raise _as_core_raises(connection, form.sql, dict(params), refused) from None
        except Exception as failed:  # a bind processor's (a naive datetime): Core wraps it
            raise _as_core_raises(connection, form.sql, dict(params), failed) from failed
        if not connection.in_transaction():
            connection.begin()  # what Core's autobegin would do before its statement
        cursor = driver_cursor(connection)
        try:
            cursor.execute(form.sql, values)
            if not cursor.description:  # no RETURNING
                return [], cursor.rowcount
            fetched = cursor.fetchall()
            return cast(list[tuple[Any, ...]], fetched), len(fetched)
        except dialect.loaded_dbapi.Error as error:
            raise _as_core_raises(connection, form.sql, values, error) from error
        finally:
            cursor.close()

    def _plan(self, dialect: Dialect) -> _Plan:
        if len(self._plans) >= _DIALECTS:
            self._plans.clear()
        plan = _Plan(None, None)
        if dialect.name == "sqlite":
            statement = cast(ClauseElement, self.statement)
            compiled = cast(
                SQLCompiler, statement.compile(dialect=dialect, column_keys=self._column_keys)
            )
            expanding = [bind for bind in compiled.post_compile_params if bind.expanding]
            if _plain(compiled) and len(expanding) <= 1:
                plan = _Plan(compiled, expanding[0].key if expanding else None)
        self._plans[dialect] = plan
        return plan

    def _form(self, plan: _Plan, params: Mapping[str, Any]) -> _Form | None:
        if plan.expanding is not None and plan.expanding not in params:
            return None  # Core says which value is missing
        length = 0 if plan.expanding is None else len(params[plan.expanding])
        form = plan.forms.get(length)
        if form is None:
            if len(plan.forms) >= MAX_VARIANTS:
                return None
            assert plan.compiled is not None
            form = plan.forms[length] = _form_of(plan.compiled, plan.expanding, length)
        return form


def driver_cursor(connection: Connection) -> Any:
    """A cursor of the driver's own connection under ``connection``, in its transaction."""
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    return dbapi_connection.cursor()


def _as_core_raises(
    connection: Connection, sql: str, params: Any, error: Exception
) -> BaseException:
    """The exception Core raises for ``error`` (``IntegrityError`` and the rest of the driver's,
    a ``StatementError`` around anything else), for the callers that catch it."""
    dialect = connection.dialect
    return exc.DBAPIError.instance(
        sql,
        params,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=connection.engine.hide_parameters,
        dialect=dialect,
    )


def _value(position: _Position, params: Mapping[str, Any]) -> Any:
    key, element, required, default, process = position
    value = params[key] if required else params.get(key, default)
    if element is not None:
        value = value[element]
    return value if process is None else process(value)


def _plain(compiled: SQLCompiler) -> bool:
    """Compiled to positional ``?`` parameters, each of which a caller's value or a literal
    fills under its own name: no Python-side column default (Core computes those per call), no
    parameter rendered into the SQL text per call but an expanding list of plain values."""
    return (
        compiled.positiontup is not None
        and compiled.dialect.paramstyle == "qmark"
        and not compiled.insert_prefetch
        and not compiled.update_prefetch
        and not compiled.literal_execute_params
        and all(bind.expanding for bind in compiled.post_compile_params)
        and all(bind.callable is None for bind in compiled.binds.values())
        and not any(isinstance(bind.type, TupleType) for bind in compiled.post_compile_params)
        and not compiled.escaped_bind_names
    )


def _form_of(compiled: SQLCompiler, expanding: str | None, length: int) -> _Form:
    """The SQL for an expanding list of ``length`` (or for none), and where each ``?`` of it
    takes its value from, with the bind processor of that parameter's type for this dialect."""
    dialect = compiled.dialect
    sql, order = compiled.string, list(compiled.positiontup or ())
    elements: dict[str, tuple[str, int]] = {}
    if expanding is not None:
        # Core's own expansion of the list, ``?`` by ``?``, for placeholder values of the length.
        placeholders = {bind.key: None for bind in compiled.binds.values() if bind.required} | {
            expanding: [0] * length
        }
        state = compiled.construct_expanded_state(placeholders)
        sql, order = state.statement, list(state.positiontup or ())
        for name, names in state.parameter_expansion.items():
            elements.update((element, (name, i)) for i, element in enumerate(names))
    positions = []
    for name in order:
        bind_name, index = elements.get(name, (name, None))
        bind = compiled.binds[bind_name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        positions.append(_Position(bind.key, index, bind.required, bind.effective_value, process))
    return _Form(sql, tuple(positions), frozenset(p.key for p in positions))
