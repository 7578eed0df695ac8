"""What ``--to SPEC`` means: a database URL, a file location, an HTTP endpoint, or a name.

In this order: ``http://`` / ``https://`` is an HTTP target; a database URL
(``postgresql://``, ``mysql://``, ``sqlite:///``, ``duckdb:///`` ...) a database; any other
``scheme://`` (``s3://``, ``gs://``, ``memory://``, ``file://``) or a path (``out/``,
``./x``, an existing directory) a file target; anything else is the name of a target, then
of a datasource, in ``laden.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from laden.config import Config, Datasource, TargetConfig, TargetKind, load_config
from laden.errors import UsageError
from laden.urls import DatabaseURL, database_scheme


@dataclass(frozen=True)
class ResolvedTarget:
    """What a target spec points at."""

    #: how messages name it: the target / datasource name, or the masked URL / location
    name: str
    kind: TargetKind = TargetKind.DATABASE
    #: DATABASE: the connection URL, password included: hand it to a backend, never show it
    url: str = field(default="", repr=False)
    #: PostgreSQL / DuckDB schema or MySQL database to load into; None = the URL's default
    namespace: str | None = None
    target: TargetConfig | None = None
    datasource: Datasource | None = None
    #: FILE / HTTP: the ``FileSpec`` / ``HttpSpec``
    spec: Any = field(default=None, repr=False)


@dataclass(frozen=True)
class FileOptions:
    """``--format`` / ``--compression`` for file targets given as a path or URL."""

    format: str | None = None
    compression: str | None = None


def kind_of(spec: str) -> TargetKind | None:
    """The kind a spec names by its spelling; None when it is a name for ``laden.yaml``."""
    lower = spec.lower()
    if lower.startswith(("http://", "https://")):
        return TargetKind.HTTP
    if database_scheme(spec):
        return TargetKind.DATABASE
    from laden.files import is_file_target

    return TargetKind.FILE if is_file_target(spec) else None


def needs_config(specs: list[str] | tuple[str, ...]) -> bool:
    return any(kind_of(s) is None for s in specs)


def resolve(spec: str, config: Config | None = None, files: FileOptions | None = None) -> ResolvedTarget:
    """Resolve one spec; a name that is neither a target nor a datasource raises, naming what exists."""
    kind = kind_of(spec)
    if kind is TargetKind.DATABASE:
        return ResolvedTarget(name=DatabaseURL.parse(spec).masked(), url=spec)
    if kind is TargetKind.HTTP:
        from laden.http import http_spec_from_url

        return ResolvedTarget(name=_display(spec), kind=kind, spec=http_spec_from_url(spec))
    if kind is TargetKind.FILE:
        from laden.files import file_spec_from_url

        f = files or FileOptions()
        return ResolvedTarget(
            name=_display(spec), kind=kind, spec=file_spec_from_url(spec, format=f.format, compression=f.compression)
        )
    config = config if config is not None else load_config()
    if spec in config.targets:
        t = config.targets[spec]
        if t.kind is not TargetKind.DATABASE:
            return ResolvedTarget(name=spec, kind=t.kind, target=t, spec=t.spec)
        ds = config.datasource(t.datasource)
        _require_enabled(ds, f"target {spec!r}")
        return ResolvedTarget(name=spec, url=ds.url_string(), namespace=t.database, target=t, datasource=ds)
    if spec in config.datasources:
        ds = config.datasources[spec]
        _require_enabled(ds, f"datasource {spec!r}")
        return ResolvedTarget(name=spec, url=ds.url_string(), datasource=ds)
    config.target(spec)  # raises: names what exists
    raise AssertionError("unreachable")  # pragma: no cover


def _display(spec: str) -> str:
    """A location for messages: without user info or query string (where secrets travel)."""
    from laden.urls import mask_url

    return mask_url(spec).split("?", 1)[0]


def _require_enabled(ds: Datasource, what: str) -> None:
    if not ds.enabled:
        raise UsageError(f"{what} uses datasource {ds.name!r}, which is disabled (enabled: false)")
