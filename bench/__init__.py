"""The laden benchmark: laden vs each engine's raw bulk path vs the loaders users pick today.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m bench                        # append, 1M rows, all engines, 3 runs each
    .venv/bin/python -m bench --rows 200000 --repeat 1 --engines sqlite,duckdb
    .venv/bin/python -m bench --upsert               # upsert 1M rows (half new) into 1M rows
    .venv/bin/python -m bench --memory               # peak RSS of `laden load`, 1M vs 10M rows
    .venv/bin/python -m bench --json                 # results as JSON on stdout

Data is generated deterministically into ``bench/.data/`` (``--cache-dir``). PostgreSQL and
MariaDB are the servers of ``LADEN_TEST_POSTGRES_URL`` / ``LADEN_TEST_MYSQL_URL`` when set,
else throwaway ones started by ``tests/servers.py`` and stopped at the end. Every contender
runs as a whole process, into a freshly created table, after one untimed warm-up, alternating
with the others; each run's row count is checked. Results are appended to
``bench/RESULTS.md`` (``--no-record`` to skip).

Modules: ``data`` (generation), ``targets`` (DDL, servers), ``contenders`` (who runs),
``loaders`` (the raw paths and peers, run as a script), ``runner`` + ``spawn`` (timing), ``scenarios``
(append / upsert / memory jobs), ``report`` (tables, RESULTS.md), ``cli``.
"""
