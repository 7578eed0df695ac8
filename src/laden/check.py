"""Is the configuration right, and can laden reach what it names? ``laden config check``.

:func:`validate` checks one target (URL, target or datasource name): it resolves, connects,
and looks for the logical database and the target's tables. :func:`check_config` does it
for every datasource and target of a ``laden.yaml``. :func:`validate_databases` says which
datasources a set of logical databases belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from laden.config import Config, Datasource, TargetKind, load_config
from laden.errors import LadenError
from laden.resolve import ResolvedTarget, needs_config, resolve
from laden.targets import backend_for
from laden.targets.base import SqlBackend
from laden.urls import Engine

#: the logical databases (namespaces) of each engine
_NAMESPACES = {
    Engine.POSTGRESQL: "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
    "AND nspname <> 'information_schema'",
    Engine.MYSQL: "SELECT schema_name FROM information_schema.schemata",
    Engine.DUCKDB: "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = current_database()",
    Engine.SQLITE: "SELECT name FROM pragma_database_list",
}


@dataclass
class ValidationResult:
    """``valid`` when every check passed; ``errors`` say what is wrong and what to do."""

    target: str
    valid: bool = True
    errors: list[str] = field(default_factory=list)
    #: what was checked and found, for the report (``engine``, ``databases``, ``tables``)
    details: dict[str, Any] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        self.valid = False
        self.errors.append(message)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "valid": self.valid, "errors": self.errors, **self.details}


@dataclass
class ConfigCheck:
    """``laden config check``: the file's own problems, then one result per datasource and target."""

    path: str | None
    problems: list[str] = field(default_factory=list)
    datasources: list[ValidationResult] = field(default_factory=list)
    targets: list[ValidationResult] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems and all(r.valid for r in (*self.datasources, *self.targets))

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.path,
            "valid": self.valid,
            "problems": self.problems,
            "datasources": [r.to_dict() for r in self.datasources],
            "targets": [r.to_dict() for r in self.targets],
        }


@dataclass(frozen=True)
class DatabaseCheck:
    """Where logical databases live: ``same_datasource`` when one datasource holds them all."""

    datasources: dict[str, tuple[str, ...]]
    unknown: tuple[str, ...] = ()

    @property
    def same_datasource(self) -> bool:
        return not self.unknown and len(self.shared) == 1

    @property
    def shared(self) -> tuple[str, ...]:
        """Datasources that hold every one of the databases."""
        sets = [set(v) for v in self.datasources.values()]
        return tuple(sorted(set.intersection(*sets))) if sets and not self.unknown else ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "same_datasource": self.same_datasource,
            "shared": list(self.shared),
            "datasources": {k: list(v) for k, v in self.datasources.items()},
            "unknown": list(self.unknown),
        }


def namespaces(backend: SqlBackend) -> list[str]:
    """The logical databases of a connected backend."""
    return sorted(str(n) for (n,) in backend.query(_NAMESPACES[backend.engine]))


def validate(target: str, *, config: Config | str | None = None) -> ValidationResult:
    """Can laden load into ``target``? Resolves it, connects, finds its database and tables."""
    result = ValidationResult(target)
    try:
        cfg = config if isinstance(config, Config) else (load_config(config) if needs_config([target]) else None)
        resolved = resolve(target, cfg)
    except LadenError as exc:
        result.fail(str(exc))
        return result
    result.details["kind"] = resolved.kind.value
    if resolved.kind is TargetKind.DATABASE:
        _reach(resolved, result)
    return result


def _reach(resolved: ResolvedTarget, result: ValidationResult) -> None:
    backend = backend_for(resolved.url, name=resolved.name, namespace=resolved.namespace)
    result.details["engine"] = backend.engine.value
    try:
        backend.connect()
    except LadenError as exc:
        result.fail(str(exc))
        return
    try:
        found = namespaces(backend)
        wanted = [resolved.namespace] if resolved.namespace else []
        if resolved.datasource and not resolved.target:
            wanted = list(resolved.datasource.databases)
        missing = [n for n in wanted if n not in found]
        for name in missing:
            result.fail(
                f"{resolved.name}: {_word(backend.engine)} {name!r} does not exist; "
                f"create it or fix the name (there: {', '.join(found) or 'none'})"
            )
        result.details["databases"] = wanted
        if resolved.target and resolved.target.tables and not missing:
            have = set(backend.reflect(resolved.target.tables).table_names)
            absent = [t for t in resolved.target.tables if t not in have]
            if absent:
                result.fail(f"{resolved.name}: tables not found: {', '.join(absent)}; create them first")
            result.details["tables"] = list(resolved.target.tables)
    except LadenError as exc:
        result.fail(str(exc))
    finally:
        backend.close()


def _word(engine: Engine) -> str:
    return {Engine.MYSQL: "database", Engine.SQLITE: "attached database"}.get(engine, "schema")


def check_config(path: str | None = None, *, config: Config | None = None) -> ConfigCheck:
    """Validate the file and reach every enabled datasource and every target."""
    try:
        cfg = config or load_config(path)
    except LadenError as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
        return ConfigCheck(path, problems=list(problems))
    report = ConfigCheck(str(cfg.path) if cfg.path else path)
    if cfg.path is None and not cfg.datasources:
        report.problems.append("no laden.yaml found: give --config PATH, set $LADEN_CONFIG, or create ./laden.yaml")
        return report
    for ds in cfg.datasources.values():
        result = ValidationResult(ds.name, details={"enabled": ds.enabled})
        if ds.enabled:
            _reach(_whole(ds), result)
        report.datasources.append(result)
    for name, t in cfg.targets.items():
        if not cfg.datasources[t.datasource].enabled:
            report.targets.append(
                ValidationResult(name, valid=False, errors=[f"its datasource {t.datasource!r} is disabled"])
            )
            continue
        report.targets.append(validate(name, config=cfg))
    return report


def _whole(ds: Datasource) -> ResolvedTarget:
    return ResolvedTarget(name=ds.name, url=ds.url_string(), datasource=ds)


def validate_databases(databases: Sequence[str], *, config: Config | str | None = None) -> DatabaseCheck:
    """Which enabled datasources declare each logical database (from ``laden.yaml``, no connection)."""
    cfg = config if isinstance(config, Config) else load_config(config)
    found = {
        db: tuple(ds.name for ds in cfg.datasources.values() if ds.enabled and db in ds.databases) for db in databases
    }
    return DatabaseCheck(
        datasources={k: v for k, v in found.items() if v},
        unknown=tuple(k for k, v in found.items() if not v),
    )
