"""Throwaway PostgreSQL and MariaDB servers for the test suite.

Importable without pytest (and without any database driver)::

    server = start_postgres(workdir)   # or start_mariadb(workdir)
    try:
        ... server.url ...
    finally:
        server.stop()

Each server gets a fresh data directory below ``workdir``, listens on 127.0.0.1 on a
free port picked at run time, runs with durability switched off (fast, disposable),
and has a superuser ``laden`` with password ``laden-test-pw``.  ``stop()`` shuts the
server down and deletes its directories.

Works as root (PostgreSQL is then run as an unprivileged user: ``postgres`` if it
exists, else ``nobody``; override with ``LADEN_TEST_PG_OS_USER``) and as a normal user.
Binaries are looked up on PATH, then in /usr/lib/postgresql/*/bin resp. /usr/sbin;
``LADEN_TEST_PG_BINDIR`` forces a PostgreSQL bin directory.

Servers are started in their own session (Ctrl-C in the terminal does not reach them)
and, on Linux, get a parent-death signal so they do not outlive the process that
started them if it is killed hard.

Manual use: ``python -m tests.servers`` (or ``python tests/servers.py``) starts both
servers, prints ``export LADEN_TEST_POSTGRES_URL=...`` / ``export LADEN_TEST_MYSQL_URL=...``
and keeps them running until SIGINT/SIGTERM.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

USER = "laden"
PASSWORD = "laden-test-pw"
HOST = "127.0.0.1"

STARTUP_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0
_PORT_ATTEMPTS = 3

__all__ = ["PASSWORD", "USER", "Server", "main", "start_mariadb", "start_postgres"]


class Server:
    """A running throwaway database server."""

    def __init__(
        self,
        *,
        name: str,
        url: str,
        port: int,
        process: subprocess.Popen[bytes],
        log_path: Path,
        dirs: Sequence[Path],
        stop_signal: int,
        kill_signal: int,
    ) -> None:
        self.name = name
        self.url = url
        self.port = port
        self.host = HOST
        self.user = USER
        self.password = PASSWORD
        self.process = process
        self.log_path = log_path
        self._dirs = list(dirs)
        self._stop_signal = stop_signal
        self._kill_signal = kill_signal
        self._stopped = False

    def __repr__(self) -> str:
        return f"<Server {self.name} {self.url} pid={self.process.pid}>"

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Shut the server down (fast shutdown) and delete its directories. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            _terminate(self.process, self._stop_signal, self._kill_signal, timeout)
        finally:
            for d in self._dirs:
                shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------- helpers


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        return f"(no log: {e})"
    return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _terminate(proc: subprocess.Popen[bytes], sig: int, kill_sig: int, timeout: float) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
        return
    except subprocess.TimeoutExpired:
        pass
    for s, t in ((kill_sig, 10.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(s)
        try:
            proc.wait(t)
            return
        except subprocess.TimeoutExpired:
            continue


def _which(names: Sequence[str], extra_dirs: Sequence[str]) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    for d in extra_dirs:
        for name in names:
            p = Path(d) / name
            if p.is_file() and os.access(p, os.X_OK):
                return str(p)
    return None


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin
    parts = re.findall(r"\d+", path.parent.name)
    return tuple(int(p) for p in parts)


def _pg_bindir() -> Path:
    candidates: list[Path] = []
    forced = os.environ.get("LADEN_TEST_PG_BINDIR")
    if forced:
        candidates.append(Path(forced))
    on_path = shutil.which("postgres")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
        candidates.append(Path(on_path).parent)
    candidates.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True))
    candidates.append(Path("/usr/local/pgsql/bin"))
    for d in candidates:
        if all(os.access(d / b, os.X_OK) for b in ("postgres", "initdb")):
            return d
    missing = [b for b in ("initdb", "postgres") if not any((d / b).exists() for d in candidates)]
    raise RuntimeError(
        f"PostgreSQL server binary {' and '.join(missing) or 'initdb/postgres'!r} not found "
        "(looked on PATH and in /usr/lib/postgresql/*/bin; set LADEN_TEST_PG_BINDIR or "
        "install Debian's 'postgresql' package)"
    )


def _require(names: Sequence[str], extra_dirs: Sequence[str], package: str) -> str:
    found = _which(names, extra_dirs)
    if found is None:
        raise RuntimeError(
            f"binary {names[0]!r} not found (looked on PATH and in {', '.join(extra_dirs)}; "
            f"install Debian's {package!r} package)"
        )
    return found


_libc: Any = None


def _pdeathsig(sig: int) -> Callable[[], None] | None:
    """A preexec_fn that makes the child get `sig` when its parent dies (Linux only).

    libc is loaded here, in the parent: only the prctl call runs between fork and exec.
    """
    global _libc
    if not sys.platform.startswith("linux"):
        return None
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        prctl = _libc.prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG

    return preexec


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "MYSQL", "MARIADB"))}
    env.update({"LC_ALL": "C", "LANG": "C", "TZ": "UTC"})
    if extra:
        env.update(extra)
    return env


class _RunAs:
    """Who to run a child process as (None = the current user)."""

    def __init__(self, entry: pwd.struct_passwd | None) -> None:
        self.entry = entry

    @property
    def uid(self) -> int:
        return self.entry.pw_uid if self.entry else os.getuid()

    @property
    def gid(self) -> int:
        return self.entry.pw_gid if self.entry else os.getgid()

    def groups(self) -> set[int]:
        if self.entry is None:
            return {os.getgid(), *os.getgroups()}
        return set(os.getgrouplist(self.entry.pw_name, self.entry.pw_gid))

    def popen_kwargs(self) -> dict[str, Any]:
        if self.entry is None:
            return {}
        return {
            "user": self.entry.pw_uid,
            "group": self.entry.pw_gid,
            "extra_groups": sorted(self.groups()),
        }

    def chown(self, path: Path) -> None:
        if self.entry is not None:
            os.chown(path, self.entry.pw_uid, self.entry.pw_gid)


def _pg_os_user() -> _RunAs:
    if os.geteuid() != 0:
        return _RunAs(None)
    wanted = os.environ.get("LADEN_TEST_PG_OS_USER")
    for name in [wanted] if wanted else ["postgres", "nobody"]:
        try:
            return _RunAs(pwd.getpwnam(name))
        except KeyError:
            continue
    raise RuntimeError(
        "running as root, but no unprivileged user to run PostgreSQL as "
        f"(tried {wanted or 'postgres, nobody'}; set LADEN_TEST_PG_OS_USER)"
    )


def _traversable(path: Path, who: _RunAs) -> bool:
    """Can `who` reach (search) `path`, judging by the plain permission bits?"""
    uid, gids = who.uid, who.groups()
    p = path.resolve()
    for d in [p, *p.parents]:
        try:
            st = d.stat()
        except OSError:
            return False
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid in gids:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def _short_socket_dir(preferred: Path, name: str, who: _RunAs, dirs: list[Path]) -> Path:
    """`preferred`, unless a socket in it would exceed the unix socket path limit (108)."""
    if len(str(preferred / name)) <= 100:
        return preferred
    d = Path(tempfile.mkdtemp(prefix="laden-sock-", dir="/tmp"))
    dirs.append(d)
    who.chown(d)
    return d


def _run(cmd: Sequence[str], log_path: Path, *, cwd: Path, timeout: float = STARTUP_TIMEOUT, **kwargs: Any) -> None:
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(cmd)}\n".encode())
        log.flush()
        try:
            proc = subprocess.run(
                list(cmd),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                timeout=timeout,
                check=False,
                **kwargs,
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(
                f"{Path(cmd[0]).name} timed out after {timeout:.0f}s; log {log_path}:\n{_tail(log_path)}"
            ) from None
    if proc.returncode != 0:
        raise RuntimeError(
            f"{Path(cmd[0]).name} failed with exit code {proc.returncode}; log {log_path}:\n{_tail(log_path)}"
        )


def _spawn(
    cmd: Sequence[str], log_path: Path, *, cwd: Path, parent_death_signal: int, **kwargs: Any
) -> subprocess.Popen[bytes]:
    """Start a long-running server process in its own session, output to `log_path`."""
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(cmd)}\n".encode())
        log.flush()
        return subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_pdeathsig(parent_death_signal),
            **kwargs,
        )


_PORT_IN_USE = re.compile(r"address already in use|bind on tcp/ip port|errno: 98|error: 98", re.I)


def _wait_ready(
    name: str,
    proc: subprocess.Popen[bytes],
    log_path: Path,
    ready: Callable[[], bool],
    timeout: float,
) -> None:
    """Poll `ready()` until it is true; raise RuntimeError if the process dies or on timeout."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        if proc.poll() is not None:
            raise _StartupError(
                f"{name} exited with code {proc.returncode} during startup; log {log_path}:\n{_tail(log_path)}",
                port_in_use=bool(_PORT_IN_USE.search(_tail(log_path, 200))),
            )
        if ready():
            return
        if time.monotonic() > deadline:
            raise _StartupError(f"{name} not ready after {timeout:.0f}s; log {log_path}:\n{_tail(log_path)}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


class _StartupError(RuntimeError):
    def __init__(self, msg: str, port_in_use: bool = False) -> None:
        super().__init__(msg)
        self.port_in_use = port_in_use


def _tcp_accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1.0):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- PostgreSQL


def start_postgres(workdir: str | os.PathLike[str], *, timeout: float = STARTUP_TIMEOUT) -> Server:
    """initdb a fresh cluster below `workdir`, start it on a free port, return the Server.

    url: postgresql://laden:laden-test-pw@127.0.0.1:PORT/postgres
    """
    bindir = _pg_bindir()
    who = _pg_os_user()
    workdir = Path(workdir).absolute()
    workdir.mkdir(parents=True, exist_ok=True)

    # Our own directory (log file, and usually the cluster).
    own = Path(tempfile.mkdtemp(prefix="postgres-", dir=workdir))
    dirs = [own]
    try:
        log_path = own / "postgres.log"
        log_path.touch()
        # As root the server runs as another user, which must be able to reach its data
        # directory; pytest's tmp dirs (/tmp/pytest-of-root, mode 0700) are not
        # reachable, so fall back to a private dir in the system temp dir.
        who.chown(own)
        root = own
        if who.entry is not None and not _traversable(own, who):
            for base in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"):
                if Path(base).is_dir() and _traversable(Path(base), who):
                    root = Path(tempfile.mkdtemp(prefix="laden-postgres-", dir=base))
                    dirs.append(root)
                    who.chown(root)
                    break
            else:
                raise RuntimeError(f"no directory reachable by user {who.entry.pw_name!r} for the PostgreSQL data")
        data = root / "data"
        sockdir = _short_socket_dir(root, ".s.PGSQL.65535.lock", who, dirs)
        pwfile = root / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        who.chown(pwfile)
        pwfile.chmod(0o600)

        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                f"--pwfile={pwfile}",
                "-A",
                "scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            log_path,
            cwd=root,
            env=_child_env(),
            **who.popen_kwargs(),
        )
        pwfile.unlink()

        last_error: _StartupError | None = None
        for _ in range(_PORT_ATTEMPTS):
            port = _free_port()
            cmd = [
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-c",
                f"listen_addresses={HOST}",
                "-c",
                f"port={port}",
                "-c",
                f"unix_socket_directories={sockdir}",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "logging_collector=off",
                "-c",
                "log_checkpoints=off",
            ]
            proc = _spawn(
                cmd,
                log_path,
                cwd=root,
                env=_child_env(),
                parent_death_signal=signal.SIGQUIT,
                **who.popen_kwargs(),
            )
            pidfile = data / "postmaster.pid"

            def ready(pidfile: Path = pidfile, port: int = port) -> bool:
                # Same check as `pg_ctl -w`: line 8 of postmaster.pid says "ready".
                try:
                    lines = pidfile.read_text().splitlines()
                except OSError:
                    return False
                return len(lines) >= 8 and lines[7].strip() == "ready" and _tcp_accepts(port)

            try:
                _wait_ready("postgres", proc, log_path, ready, timeout)
            except BaseException as e:  # also KeyboardInterrupt: never leave it running
                _terminate(proc, signal.SIGINT, signal.SIGQUIT, 10.0)
                if isinstance(e, _StartupError) and e.port_in_use:
                    last_error = e
                    continue
                raise
            return Server(
                name="postgresql",
                url=f"postgresql://{USER}:{PASSWORD}@{HOST}:{port}/postgres",
                port=port,
                process=proc,
                log_path=log_path,
                dirs=dirs,
                stop_signal=signal.SIGINT,  # fast shutdown
                kill_signal=signal.SIGQUIT,  # immediate shutdown
            )
        assert last_error is not None
        raise last_error
    except BaseException:
        # Remove the cluster but keep our dir with the log the error message points to.
        for d in dirs:
            shutil.rmtree(d if d is not own else d / "data", ignore_errors=True)
        raise


# --------------------------------------------------------------------------- MariaDB


def _mysql_greeting(port: int) -> bool:
    """True once the server sends its protocol-10 handshake on a TCP connection."""
    try:
        with socket.create_connection((HOST, port), timeout=2.0) as s:
            s.settimeout(2.0)
            data = b""
            while len(data) < 5:
                chunk = s.recv(64)
                if not chunk:
                    return False
                data += chunk
            return data[4] == 0x0A
    except OSError:
        return False


def start_mariadb(workdir: str | os.PathLike[str], *, timeout: float = STARTUP_TIMEOUT) -> Server:
    """mariadb-install-db a fresh datadir below `workdir`, start mariadbd, return the Server.

    url: mysql://laden:laden-test-pw@127.0.0.1:PORT/mysql
    """
    sbin = ["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/mysql/bin"]
    mariadbd = _require(["mariadbd", "mysqld"], sbin, "mariadb-server")
    install_db = _require(["mariadb-install-db", "mysql_install_db"], sbin, "mariadb-server")
    is_root = os.geteuid() == 0
    workdir = Path(workdir).absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    own = Path(tempfile.mkdtemp(prefix="mariadb-", dir=workdir))
    dirs = [own]
    try:
        socket_path = _short_socket_dir(own, "mysql.sock", _RunAs(None), dirs) / "mysql.sock"
        log_path = own / "mariadb.log"
        log_path.touch()
        data = own / "data"
        tmp = own / "tmp"
        tmp.mkdir()
        user_opt = ["--user=root"] if is_root else []

        _run(
            [
                install_db,
                "--no-defaults",
                f"--datadir={data}",
                *user_opt,
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ],
            log_path,
            cwd=own,
            env=_child_env(),
        )

        # Users are created from --init-file, which the server runs before it accepts
        # connections: once the handshake arrives, `laden` can log in.
        init_sql = own / "init.sql"
        init_sql.write_text(
            "".join(
                f"CREATE USER IF NOT EXISTS '{USER}'@'{host}' IDENTIFIED BY '{PASSWORD}';\n"
                f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'{host}' WITH GRANT OPTION;\n"
                for host in ("127.0.0.1", "localhost")
            )
            + "FLUSH PRIVILEGES;\n"
        )

        last_error: _StartupError | None = None
        for _ in range(_PORT_ATTEMPTS):
            port = _free_port()
            cmd = [
                mariadbd,
                "--no-defaults",
                f"--datadir={data}",
                *user_opt,
                f"--bind-address={HOST}",
                f"--port={port}",
                f"--socket={socket_path}",
                f"--pid-file={own / 'mariadb.pid'}",
                f"--tmpdir={tmp}",
                f"--init-file={init_sql}",
                "--local-infile=1",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_general_ci",
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-doublewrite=0",
                "--innodb-buffer-pool-size=256M",
                "--log-warnings=1",
            ]
            proc = _spawn(cmd, log_path, cwd=own, env=_child_env(), parent_death_signal=signal.SIGTERM)

            def ready(port: int = port) -> bool:
                return _mysql_greeting(port)

            try:
                _wait_ready("mariadbd", proc, log_path, ready, timeout)
            except BaseException as e:  # also KeyboardInterrupt: never leave it running
                _terminate(proc, signal.SIGTERM, signal.SIGKILL, 10.0)
                if isinstance(e, _StartupError) and e.port_in_use:
                    last_error = e
                    continue
                raise
            return Server(
                name="mysql",
                url=f"mysql://{USER}:{PASSWORD}@{HOST}:{port}/mysql",
                port=port,
                process=proc,
                log_path=log_path,
                dirs=dirs,
                stop_signal=signal.SIGTERM,
                kill_signal=signal.SIGKILL,
            )
        assert last_error is not None
        raise last_error
    except BaseException:
        # Remove the datadir but keep the log the error message points to.
        for d in dirs:
            shutil.rmtree(d if d is not own else d / "data", ignore_errors=True)
        raise


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(
            "usage: python -m tests.servers [WORKDIR]\n"
            "Start throwaway PostgreSQL and MariaDB servers, print export lines for\n"
            "LADEN_TEST_POSTGRES_URL / LADEN_TEST_MYSQL_URL, and run until SIGINT/SIGTERM."
        )
        return 0
    if args:
        workdir = Path(args[0]).absolute()
        workdir.mkdir(parents=True, exist_ok=True)
        remove_workdir = False
    else:
        workdir = Path(tempfile.mkdtemp(prefix="laden-servers-"))
        remove_workdir = True

    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    started: list[Server] = []
    try:
        t0 = time.monotonic()
        pg = start_postgres(workdir)
        started.append(pg)
        t1 = time.monotonic()
        my = start_mariadb(workdir)
        started.append(my)
        t2 = time.monotonic()
        print(f"# postgres ready in {t1 - t0:.1f}s (pid {pg.process.pid}, log {pg.log_path})", file=sys.stderr)
        print(f"# mariadb ready in {t2 - t1:.1f}s (pid {my.process.pid}, log {my.log_path})", file=sys.stderr)
        print(f"export LADEN_TEST_POSTGRES_URL={pg.url}")
        print(f"export LADEN_TEST_MYSQL_URL={my.url}")
        print("# running; stop with Ctrl-C or SIGTERM", file=sys.stderr)
        sys.stdout.flush()
        while all(s.process.poll() is None for s in started):
            time.sleep(0.5)
        for s in started:
            if s.process.poll() is not None:
                print(f"# {s.name} exited unexpectedly; log tail:\n{s.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        # Ignore further signals while shutting down.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for s in reversed(started):
            s.stop()
        if remove_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        print("# servers stopped", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
