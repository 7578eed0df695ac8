"""``laden.yaml``: datasources and named targets, read into typed objects.

Where the file is found: ``--config PATH`` (``path=``), else ``$LADEN_CONFIG``, else
``laden.yaml`` (or ``laden.yml``) in the working directory.

``${VAR}`` and ``${VAR:default}`` are substituted *after* YAML parsing, in string values
only, so a value holding ``:``, ``#`` or quotes arrives byte for byte; ``$${`` is a
literal ``${``. A missing variable without a default is an error naming it. Every value
is then checked against what it should be, and every problem is reported with the file,
the line, the key path and what was expected — all of them at once, not the first only.
"""

from __future__ import annotations

import enum
import functools
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from laden.errors import UsageError, aside, did_you_mean
from laden.plan import OnError, Strategy
from laden.pool import PoolConfig
from laden.urls import DatabaseURL, Engine

FILE_NAMES = ("laden.yaml", "laden.yml")
ENV_VAR = "LADEN_CONFIG"
_TYPES = {"postgresql": Engine.POSTGRESQL, "postgres": Engine.POSTGRESQL, "mysql": Engine.MYSQL}
_TYPES |= {"mariadb": Engine.MYSQL, "sqlite": Engine.SQLITE, "duckdb": Engine.DUCKDB}
_VAR = re.compile(r"\$\$\{|\$\{([^}:]*)(?::([^}]*))?\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class ConfigError(UsageError):
    """The configuration file is missing, unreadable or invalid. ``problems`` lists each one."""

    def __init__(self, problems: Sequence[str]) -> None:
        # printable whatever the file held: a lone surrogate (from a "\\ud800" escape) would make
        # printing the message fail; it is shown as the escape instead
        self.problems = [p.encode("utf-8", "backslashreplace").decode("utf-8") for p in problems]
        head = self.problems[0] if len(self.problems) == 1 else f"{len(self.problems)} problems in the configuration"
        super().__init__(head if len(self.problems) == 1 else head + ":\n  " + "\n  ".join(self.problems))


@dataclass(frozen=True)
class Connection:
    """Where a datasource lives: host/port/... for servers, ``path`` for SQLite and DuckDB, or a ``url``."""

    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    path: str | None = None
    url: str | None = field(default=None, repr=False)
    #: extra driver parameters, passed in the URL's query string (sslmode, ...)
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Datasource:
    """One database server (or file) and the logical databases laden may use in it."""

    name: str
    engine: Engine
    connection: Connection
    description: str = ""
    enabled: bool = True
    pool: PoolConfig = field(default_factory=PoolConfig)
    #: PostgreSQL and DuckDB schemas, MySQL/MariaDB databases; empty = only the default one
    databases: tuple[str, ...] = ()

    def url(self) -> DatabaseURL:
        """The datasource's connection as a parsed URL (password included, never shown)."""
        c = self.connection
        if c.url:
            return DatabaseURL.parse(c.url)
        if self.engine in (Engine.SQLITE, Engine.DUCKDB):
            return DatabaseURL(engine=self.engine, path=c.path or ":memory:", query=c.options)
        return DatabaseURL(
            engine=self.engine,
            host=c.host,
            port=c.port,
            user=c.user,
            password=c.password,
            database=c.database,
            query=c.options,
        )

    def url_string(self) -> str:
        """The URL as a string with the password in it: for handing to a backend, never for display."""
        u = self.url()
        if u.engine in (Engine.SQLITE, Engine.DUCKDB):
            path = u.path or ":memory:"
            return f"{u.engine.value}:///{path}" + (f"?{urlencode(u.query)}" if u.query else "")
        auth = ""
        if u.user:
            auth = quote(u.user, safe="") + (f":{quote(u.password, safe='')}" if u.password is not None else "") + "@"
        host = f"[{u.host}]" if u.host and ":" in u.host else (u.host or "")
        port = f":{u.port}" if u.port else ""
        db = f"/{quote(u.database, safe='')}" if u.database else ""
        return f"{u.engine.value}://{auth}{host}{port}{db}" + (f"?{urlencode(u.query)}" if u.query else "")


class TargetKind(str, enum.Enum):
    """What a target writes to."""

    DATABASE = "database"
    FILE = "file"  #: a local directory or object storage (``laden.files``)
    HTTP = "http"  #: an HTTP API or webhook (``laden.http``)


@dataclass(frozen=True)
class TargetConfig:
    """A named target: a datasource and a logical database in it (or a file / HTTP spec), and load defaults."""

    name: str
    datasource: str = ""
    database: str | None = None
    kind: TargetKind = TargetKind.DATABASE
    #: the settings of a FILE (``laden.files.FileSpec``) or HTTP (``laden.http.HttpSpec``) target
    spec: Any = field(default=None, repr=False)
    strategy: Strategy | None = None
    batch_size: int | None = None
    on_error: OnError | None = None
    max_rejects: int | None = None
    keys: tuple[tuple[str, tuple[str, ...]], ...] = ()
    tables: tuple[str, ...] = ()
    description: str = ""
    #: ``table_mappings``: table -> ``laden.mapping.TableMapping`` (one wide source into several tables)
    table_mappings: Mapping[str, Any] = field(default_factory=dict)
    #: ``respect_fk_order: false`` loads the tables in the order given (``tables``)
    respect_fk_order: bool = True


@dataclass(frozen=True)
class Config:
    path: Path | None
    datasources: Mapping[str, Datasource]
    targets: Mapping[str, TargetConfig]
    #: ``generators:``: per-column overrides for ``laden generate schema``
    #: (a ``laden.generate.from_schema.Overrides``, or None)
    generators: Any = None
    #: ``validation:``: table -> ``laden.backfill.rules.Validation``
    validation: Mapping[str, Any] = field(default_factory=dict)

    def datasource(self, name: str) -> Datasource:
        found = self.datasources.get(name)
        if found is None:
            raise UsageError(
                f"no datasource {name!r} in {self._where()}{aside(did_you_mean(name, self.datasources))}; "
                f"defined: {', '.join(self.datasources) or 'none'}"
            )
        return found

    def target(self, name: str) -> TargetConfig:
        found = self.targets.get(name)
        if found is None and self.path is None:
            raise UsageError(
                f"{name!r} is not a target URL or path, and there is no laden.yaml to name it in: give --config PATH, "
                f"set ${ENV_VAR}, or create ./laden.yaml; a URL looks like postgresql://host/db"
            )
        if found is None:
            raise UsageError(
                f"{name!r} is neither a target URL nor a target in {self._where()}"
                f"{aside(did_you_mean(name, [*self.targets, *self.datasources]))}; "
                f"targets there: {', '.join(self.targets) or 'none'}; a URL looks like postgresql://host/db"
            )
        return found

    def _where(self) -> str:
        return str(self.path) if self.path else "the configuration"


# -- finding and reading the file --------------------------------------------------------------


def find_config(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The configuration file to use, or None when there is none (and none was asked for)."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError([f"{p}: configuration file not found"])
        return p
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env)
        if not p.is_file():
            raise ConfigError([f"{p}: configuration file not found (from ${ENV_VAR})"])
        return p
    for name in FILE_NAMES:
        p = Path.cwd() / name
        if p.is_file():
            return p
    return None


def load_config(path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read, substitute and validate the configuration; an empty :class:`Config` when there is no file."""
    found = find_config(path)
    if found is None:
        return Config(None, {}, {})
    try:
        text = found.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{found}: cannot read the configuration: {exc}"]) from exc
    return parse_config(text, found, environ=os.environ if environ is None else environ)


def parse_config(text: str, path: Path | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    where = str(path) if path else "<config>"
    data, lines = _parse_yaml(text, where)
    reader = Reader(where, lines, os.environ if environ is None else environ)
    config = reader.config(data, path)
    if reader.problems:
        raise ConfigError(reader.problems)
    return config


#: how many values aliases (``*name``) may add to the document: a few anchors can otherwise
#: stand for billions of values ("billion laughs") and walking them would never end
MAX_ALIAS_VALUES = 100_000
#: how deep lists and mappings may nest. PyYAML composes recursively, and its scanner slows down
#: with every open ``[`` / ``{``: without a limit, deep nesting is a RecursionError, or minutes
#: of parsing where the recursion limit was raised.
MAX_DEPTH = 64


@functools.cache
def _loader_class() -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        """PyYAML's safe loader, refusing lists and mappings nested more than :data:`MAX_DEPTH` deep."""

        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.depth >= MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"lists and mappings are nested more than {MAX_DEPTH} deep", mark
                )
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            # PyYAML's constructors of tagged scalars fail with the bare error of int(), float(),
            # a dict lookup, ... (``!!int ~``, ``!!bool x``, ``!!timestamp 2001-13-45``)
            try:
                return super().construct_object(node, deep)
            except (ValueError, KeyError, AttributeError, IndexError, TypeError, OverflowError) as exc:
                tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
                value = str(node.value)
                shown = repr(value if len(value) <= 40 else value[:40] + "...")
                raise yaml.constructor.ConstructorError(
                    None, None, f"{tag} {shown} is not a valid {tag} value", node.start_mark
                ) from exc

    return Loader


_QUOTED = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'""")
_COMMENT = re.compile(r"(?:^|\s)#.*")
_BRACKETS = re.compile(r"[\[\]{}]")


def _too_deep(text: str) -> int | None:
    """The first line opening more than :data:`MAX_DEPTH` flow lists or mappings (``[[[...``), or None.

    Checked before parsing: PyYAML's scanner looks ahead up to 1,024 characters on a line, and
    its cost grows with every ``[`` / ``{`` still open in that stretch (a second or more).
    """
    for number, line in enumerate(text.splitlines(), 1):
        if line.count("[") + line.count("{") <= MAX_DEPTH:
            continue
        depth = 0
        for bracket in _BRACKETS.findall(_COMMENT.sub("", _QUOTED.sub("", line))):
            depth = depth + 1 if bracket in "[{" else max(0, depth - 1)
            if depth > MAX_DEPTH:
                return number
    return None


def _parse_yaml(text: str, where: str) -> tuple[Any, dict[tuple[str, ...], int]]:
    """The document (PyYAML's safe constructors only) and its key path -> line map."""
    import yaml

    line = _too_deep(text)
    if line is not None:
        raise ConfigError([f"{where}:{line}: not valid YAML: lists and mappings are nested more than {MAX_DEPTH} deep"])
    loader = None
    try:
        loader = _loader_class()(text)  # refuses characters YAML does not allow (a NUL) right away
        node = loader.get_single_node()
        if node is None:
            return None, {}
        problem = _alias_problem(node)
        if problem:
            raise ConfigError([f"{where}: {problem}"])
        return loader.construct_document(node), _line_map(node)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{where}: not valid YAML: {exc}".replace("\n", " ")]) from exc
    except RecursionError as exc:
        raise ConfigError([f"{where}: not valid YAML: lists and mappings are nested too deeply"]) from exc
    finally:
        if loader is not None:
            loader.dispose()


def _alias_problem(root: Any) -> str | None:
    """Why the node graph cannot be walked (an alias inside its own anchor, too many values), or None."""
    import yaml

    def children(node: Any) -> list[Any]:
        if isinstance(node, yaml.MappingNode):
            return [n for pair in node.value for n in pair]
        return list(node.value) if isinstance(node, yaml.SequenceNode) else []

    sizes: dict[int, int] = {}  # id(node) -> how many values it stands for, aliases expanded
    path: set[int] = set()  # the nodes from the root to the one being visited
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            path.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children(node))
            continue
        if id(node) in sizes:
            continue
        path.add(id(node))
        stack.append((node, True))
        for child in children(node):
            if id(child) in path:
                line = child.start_mark.line + 1
                return f"line {line}: an alias (*name) refers to a list or mapping that contains it"
            stack.append((child, False))
    if sizes[id(root)] - len(sizes) > MAX_ALIAS_VALUES:
        return (
            f"aliases (*name) repeat more than {MAX_ALIAS_VALUES:,} values; "
            "use fewer aliases of big lists or mappings, or write the values out"
        )
    return None


def _line_map(root: Any) -> dict[tuple[str, ...], int]:
    """Key path -> 1-based line number, from PyYAML's node tree (aliases followed, bounded by
    :data:`MAX_ALIAS_VALUES`; iterative, so any depth the parser accepted is fine)."""
    import yaml

    out: dict[tuple[str, ...], int] = {}
    stack: list[tuple[Any, tuple[str, ...], int]] = [(root, (), root.start_mark.line + 1)]
    while stack:
        node, path, line = stack.pop()
        out[path] = line  # a mapping's value is located by its key
        if isinstance(node, yaml.MappingNode):
            pairs = [(value, (*path, str(key.value)), key.start_mark.line + 1) for key, value in node.value]
            stack.extend(reversed(pairs))
        elif isinstance(node, yaml.SequenceNode):
            items = [(item, (*path, str(i)), item.start_mark.line + 1) for i, item in enumerate(node.value)]
            stack.extend(reversed(items))
    return out


# -- validation into typed objects -----------------------------------------------------------------


class Reader:
    """Walks the parsed YAML, substitutes variables, converts values, collects every problem.

    Public so that other target kinds (files, HTTP) read their own settings the same way:
    each method takes the value and its key path, records a problem and returns None (or
    the default) when the value is wrong.
    """

    def __init__(self, where: str, lines: dict[tuple[str, ...], int], environ: Mapping[str, str]) -> None:
        self.where = where
        self.lines = lines
        self.environ = environ
        self.problems: list[str] = []

    def problem(self, path: tuple[str, ...], message: str) -> None:
        line = next((self.lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in self.lines), None)
        loc = f"{self.where}:{line}" if line else self.where
        self.problems.append(f"{loc}: {'.'.join(path) or '(top level)'}: {message}")

    # values ---------------------------------------------------------------------------------
    def substitute(self, value: Any, path: tuple[str, ...]) -> Any:
        if not isinstance(value, str):
            return value

        def sub(m: re.Match[str]) -> str:
            if m.group(0) == "$${":
                return "${"
            name, default = m.group(1), m.group(2)
            found = _lookup(self.environ, name)
            if found is not None:
                return found
            if default is not None:
                return default
            self.problem(path, f"environment variable ${{{name}}} is not set and has no default (${{{name}:default}})")
            return ""

        return _VAR.sub(sub, value)

    def mapping(self, value: Any, path: tuple[str, ...], allowed: Sequence[str] | None = None) -> dict[str, Any]:
        """A mapping with the ``allowed`` keys (None: keys are names the user chooses)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            what = f" ({', '.join(allowed)})" if allowed else " of names"
            self.problem(path, f"expected a mapping{what}, got {_kind(value)}")
            return {}
        out: dict[str, Any] = {}
        for key, item in value.items():
            if allowed is None and not isinstance(key, str):  # YAML's `on:`, `no:`, `~:`, `010:`
                self.problem(
                    (*path, str(key)),
                    f"YAML reads this name as {_kind(key)}, not as text; put the name in quotes",
                )
                continue
            if allowed is not None and str(key) not in allowed:
                hint = aside(did_you_mean(str(key), allowed))
                self.problem((*path, str(key)), f"unknown key{hint}; expected one of: {', '.join(allowed)}")
                continue
            out[str(key)] = item
        return out

    def string(self, value: Any, path: tuple[str, ...], *, required: bool = False) -> str | None:
        value = self.substitute(value, path)
        if value is None or value == "":
            if required:
                self.problem(path, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problem(path, f"expected a string, got {_kind(value)}")
            return None
        return str(value)

    def integer(self, value: Any, path: tuple[str, ...], *, minimum: int = 0, maximum: int | None = None) -> int | None:
        value = self.substitute(value, path)
        if value is None or value == "":
            return None
        try:
            if isinstance(value, bool | float):
                raise ValueError
            number = int(value)
        except (TypeError, ValueError):
            self.problem(path, f"expected a whole number, got {value!r}")
            return None
        if number < minimum:
            self.problem(path, f"expected a number >= {minimum}, got {number}")
            return None
        if maximum is not None and number > maximum:
            self.problem(path, f"expected a number <= {maximum}, got {number}")
            return None
        return number

    def number(self, value: Any, path: tuple[str, ...]) -> float | None:
        value = self.substitute(value, path)
        if value is None or value == "":
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            self.problem(path, f"expected a number of seconds, got {value!r}")
            return None
        if not 0 < number < math.inf:  # also refuses nan
            self.problem(path, f"expected a positive number, got {value!r}")
            return None
        return number

    def boolean(self, value: Any, path: tuple[str, ...], default: bool) -> bool:
        value = self.substitute(value, path)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0"):
            return False
        self.problem(path, f"expected true or false, got {value!r}")
        return default

    def strings(self, value: Any, path: tuple[str, ...]) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",")]
        if not isinstance(value, list):
            self.problem(path, f"expected a list of names, got {_kind(value)}")
            return ()
        out = [self.string(v, (*path, str(i)), required=True) for i, v in enumerate(value)]
        return tuple(v for v in out if v)

    def names(self, value: Any, path: tuple[str, ...]) -> tuple[str, ...]:
        """As :meth:`strings`, for names: an item YAML read as a boolean, null or number is refused."""
        if isinstance(value, list):
            for i, v in enumerate(value):
                if not isinstance(v, str):
                    self.problem((*path, str(i)), f"YAML reads this name as {_kind(v)}, not as text; put it in quotes")
            value = [v for v in value if isinstance(v, str)]
        return self.strings(value, path)

    def choice(self, value: Any, path: tuple[str, ...], kind: type[enum.Enum]) -> Any:
        text = self.string(value, path)
        if text is None:
            return None
        try:
            return kind(text)
        except ValueError:
            self.problem(path, f"expected one of {', '.join(m.value for m in kind)}, got {text!r}")
            return None

    # sections -------------------------------------------------------------------------------
    def config(self, data: Any, path: Path | None) -> Config:
        top = self.mapping(data, (), ["datasources", "targets", "generators", "validation"])
        raw_sources = self.mapping(top.get("datasources"), ("datasources",))
        sources = {name: self.datasource(name, value) for name, value in raw_sources.items()}
        raw_targets = self.mapping(top.get("targets"), ("targets",))
        targets = {name: self.target(name, value, sources) for name, value in raw_targets.items()}
        generators = None
        if top.get("generators") is not None:
            from laden.generate.from_schema.overrides import read_overrides

            generators = read_overrides(self, ("generators",), top["generators"])
        return Config(
            path,
            {k: v for k, v in sources.items() if v},
            {k: v for k, v in targets.items() if v},
            generators,
            self.validation(top.get("validation")),
        )

    def validation(self, value: Any) -> dict[str, Any]:
        """``validation:``: per target table, the rules a backfill's sample must pass."""
        from laden.backfill.rules import parse_validation

        found = {}
        for table, node in self.mapping(value, ("validation",)).items():
            try:
                found[table] = parse_validation(table, self.mapping(node, ("validation", table)))
            except UsageError as exc:
                self.problem(("validation", table), str(exc))
        return found

    def datasource(self, name: str, value: Any) -> Datasource | None:
        path = ("datasources", name)
        if not _NAME.match(name):
            self.problem(path, "a datasource name is letters, digits, '_', '-' and '.', starting with a letter")
        d = self.mapping(value, path, _DATASOURCE_KEYS)
        kind = self.string(d.get("type"), (*path, "type"), required=True)
        engine = _TYPES.get((kind or "").lower())
        if kind and engine is None:
            self.problem((*path, "type"), f"expected one of postgresql, mysql, sqlite, duckdb, got {kind!r}")
        conn = self.connection(d.get("connection"), (*path, "connection"), engine)
        pool = self.pool(d.get("pool"), (*path, "pool"))
        databases = self.names(d.get("databases"), (*path, "databases"))
        if engine is None or conn is None:
            return None
        return Datasource(
            name=name,
            engine=engine,
            connection=conn,
            description=self.string(d.get("description"), (*path, "description")) or "",
            enabled=self.boolean(d.get("enabled"), (*path, "enabled"), True),
            pool=pool,
            databases=databases,
        )

    def connection(self, value: Any, path: tuple[str, ...], engine: Engine | None) -> Connection | None:
        c = self.mapping(value, path, _CONNECTION_KEYS)
        if value is None:
            self.problem(path, "is required (host, port, database, user, password; or path; or url)")
            return None
        options = self.mapping(c.get("options"), (*path, "options"))
        conn = Connection(
            host=self.string(c.get("host"), (*path, "host")),
            port=self.integer(c.get("port"), (*path, "port"), minimum=1, maximum=65535),
            database=self.string(c.get("database"), (*path, "database")),
            user=self.string(c.get("user"), (*path, "user")),
            password=self.string(c.get("password"), (*path, "password")),
            path=self.string(c.get("path"), (*path, "path")),
            url=self.string(c.get("url"), (*path, "url")),
            options=tuple((k, self.string(v, (*path, "options", k)) or "") for k, v in options.items()),
        )
        if conn.url:
            try:
                parsed = DatabaseURL.parse(conn.url)
            except UsageError as exc:  # an unknown scheme, a bad port, an unclosed "[" of an IPv6 host
                self.problem((*path, "url"), str(exc))
                return None
            if engine is not None and parsed.engine is not engine:
                self.problem((*path, "url"), f"is a {parsed.engine.value} URL but the type is {engine.value}")
        elif engine in (Engine.SQLITE, Engine.DUCKDB) and not conn.path:
            self.problem((*path, "path"), f"is required for a {engine.value} datasource (the database file)")
        elif engine in (Engine.POSTGRESQL, Engine.MYSQL) and not conn.host:
            self.problem((*path, "host"), f"is required for a {engine.value} datasource")
        return conn

    def pool(self, value: Any, path: tuple[str, ...]) -> PoolConfig:
        p = self.mapping(value, path, ["min_size", "max_size", "connect_timeout"])
        base = PoolConfig()
        low = self.integer(p.get("min_size"), (*path, "min_size"))
        high = self.integer(p.get("max_size"), (*path, "max_size"), minimum=1)
        timeout = self.number(p.get("connect_timeout"), (*path, "connect_timeout"))
        low = base.min_size if low is None else low
        high = base.max_size if high is None else high
        if low > high:
            self.problem((*path, "min_size"), f"min_size {low} is larger than max_size {high}")
            low = high
        return PoolConfig(
            min_size=low, max_size=high, connect_timeout=base.connect_timeout if timeout is None else timeout
        )

    def target(self, name: str, value: Any, sources: Mapping[str, Datasource | None]) -> TargetConfig | None:
        path = ("targets", name)
        if "://" in name or not _NAME.match(name):
            self.problem(path, "a target name is letters, digits, '_', '-' and '.', starting with a letter")
        raw = value if isinstance(value, dict) else {}
        kind = self.choice(raw.get("type", "database"), (*path, "type"), TargetKind) or TargetKind.DATABASE
        if kind is TargetKind.DATABASE:
            t = self.mapping(value, path, _TARGET_KEYS)
            source, database = self._database_target(path, t, sources)
            spec = None
        else:
            t, source, database = raw, "", None
            spec = self._spec(kind, path, raw)
            if spec is None:
                return None
        if kind is TargetKind.DATABASE and source is None:
            return None
        keys = self.mapping(t.get("keys"), (*path, "keys"))
        return TargetConfig(
            name=name,
            datasource=source or "",
            database=database,
            kind=kind,
            spec=spec,
            strategy=self.choice(t.get("strategy"), (*path, "strategy"), Strategy),
            batch_size=self.integer(t.get("batch_size"), (*path, "batch_size"), minimum=1),
            on_error=self.choice(t.get("on_error"), (*path, "on_error"), OnError),
            max_rejects=self.integer(t.get("max_rejects"), (*path, "max_rejects")),
            keys=tuple((k, self.names(v, (*path, "keys", k))) for k, v in keys.items()),
            tables=self.names(t.get("tables"), (*path, "tables")),
            description=self.string(t.get("description"), (*path, "description")) or "",
            table_mappings=self.table_mappings(t.get("table_mappings"), (*path, "table_mappings")),
            respect_fk_order=self.boolean(t.get("respect_fk_order"), (*path, "respect_fk_order"), True),
        )

    def table_mappings(self, value: Any, path: tuple[str, ...]) -> dict[str, Any]:
        from laden.mapping import parse_mappings

        found = {}
        for table, node in self.mapping(value, path).items():
            try:
                found.update(parse_mappings({table: node}, ".".join(path)))
            except UsageError as exc:
                self.problem((*path, table), str(exc))
        return found

    def _database_target(
        self, path: tuple[str, ...], t: Mapping[str, Any], sources: Mapping[str, Datasource | None]
    ) -> tuple[str | None, str | None]:
        source = self.string(t.get("datasource"), (*path, "datasource"), required=True)
        database = self.string(t.get("database"), (*path, "database"))
        ds = sources.get(source or "")
        if source and source not in sources:
            self.problem(
                (*path, "datasource"),
                f"no datasource {source!r}{aside(did_you_mean(source, sources))}; "
                f"defined: {', '.join(sources) or 'none'}",
            )
        elif ds and database and ds.databases and database not in ds.databases:
            self.problem(
                (*path, "database"),
                f"{database!r} is not one of datasource {source!r}'s databases: {', '.join(ds.databases)}",
            )
        return source, database

    def _spec(self, kind: TargetKind, path: tuple[str, ...], raw: Mapping[str, Any]) -> Any:
        if kind is TargetKind.FILE:
            from laden.files import read_file_spec

            return read_file_spec(self, path, raw)
        from laden.http import read_http_spec

        return read_http_spec(self, path, raw)


#: keys every target kind takes (the file and HTTP readers accept them and leave them to this module)
COMMON_TARGET_KEYS = (
    "type", "strategy", "batch_size", "on_error", "max_rejects", "keys", "tables", "description", "table_mappings",
    "respect_fk_order",
)  # fmt: skip
_DATASOURCE_KEYS = ["type", "description", "enabled", "connection", "pool", "databases"]
_CONNECTION_KEYS = ["host", "port", "database", "user", "password", "path", "url", "options"]
_TARGET_KEYS = ["datasource", "database", *COMMON_TARGET_KEYS]


def _lookup(environ: Mapping[str, str], name: str) -> str | None:
    """``environ[name]``, or None when it is not set or cannot be (``os.environ`` refuses a
    name with a lone surrogate, which a YAML escape such as ``"\\ud800"`` can make)."""
    try:
        return environ.get(name)
    except ValueError:  # UnicodeEncodeError
        return None


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return f"{type(value).__name__} {value!r}"
