"""The load benchmark, the second half of `make bench`: simulated patients sync their outboxes
through gunicorn on loopback, losing the answer to some batches and sending them again; it checks
that every entry is stored exactly once and nothing answered 5xx, and prints the p50 and p95
batch times. It runs on a fresh SQLite file, then on a fresh PostgreSQL database when one answers
on 127.0.0.1:5432; the user's own database is never touched.

    python -m bench.run_load_bench [--patients N] [--entries N] [--backend sqlite] ...

The workings (the phones, gunicorn, the verdict) are in bench/loadbench.py.
"""

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import django
import environ
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from bench import loadbench

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/rt_loadbench"


class Failed(Exception):
    """The run failed, or could not start: main() prints why and exits 1."""


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    django.setup()
    try:
        run(parse_args(argv))
    except Failed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run_load_bench", description=__doc__.split("\n\n")[0]
    )
    plan = loadbench.Plan()
    parser.add_argument("--patients", type=positive, default=plan.patients)
    parser.add_argument("--entries", type=positive, default=plan.entries, help="per patient")
    parser.add_argument("--batch-size", type=positive, default=plan.batch_size)
    parser.add_argument(
        "--drop-every",
        type=int,
        default=plan.drop_every,
        help="lose the answer to every n-th batch (0: none)",
    )
    parser.add_argument("--workers", type=positive, default=plan.workers)
    parser.add_argument(
        "--backend",
        action="append",
        choices=["sqlite", "postgresql"],
        help="only this database (repeatable); by default SQLite, and PostgreSQL when one answers",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("LOAD_BENCH_POSTGRES_URL", POSTGRES_URL),
        help="where to create the throw-away database (its name must contain 'loadbench')",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    # The run inside one fresh database, in a process whose DATABASE_URL names it.
    parser.add_argument("--in-fresh-database", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run(options: argparse.Namespace) -> None:
    plan = loadbench.Plan(
        patients=options.patients,
        entries=options.entries,
        batch_size=options.batch_size,
        drop_every=max(options.drop_every, 0),
        workers=options.workers,
    )
    if options.in_fresh_database:
        run_here(plan, options.json)
    else:
        run_all(plan, options)


# ---- The parent: one throw-away database after another ----


def run_all(plan: loadbench.Plan, options: argparse.Namespace) -> None:
    chosen = options.backend or []
    postgres_url = options.postgres_url
    results, skipped = {}, {}
    for backend in chosen or ["sqlite", "postgresql"]:
        with tempfile.TemporaryDirectory(prefix="rt-loadbench-") as folder:
            if backend == "sqlite":
                url = f"sqlite:///{Path(folder) / 'load.sqlite3'}"
                results[backend] = run_child(plan, url, Path(folder))
            elif reason := create_postgres_database(postgres_url):
                if backend in chosen:
                    raise Failed(f"PostgreSQL: {reason}")
                skipped[backend] = reason
            else:
                try:
                    results[backend] = run_child(plan, postgres_url, Path(folder))
                finally:
                    drop_postgres_database(postgres_url)
    summary(results, skipped)
    if options.json:
        options.json.write_text(json.dumps({"results": results, "skipped": skipped}))
    if failed := [name for name, result in results.items() if not result.get("passed")]:
        raise Failed(f"Load benchmark failed on {', '.join(failed)}.")


def run_child(plan: loadbench.Plan, url: str, folder: Path) -> dict:
    """Runs this module with --in-fresh-database in a process of its own, whose settings
    (and gunicorn's) name the new database, and returns what it found. The cache is that
    database's table too, never a Redis that REDIS_URL may name."""
    env = {
        **{name: value for name, value in os.environ.items() if name != "REDIS_URL"},
        "DATABASE_URL": url,
        "DJANGO_DATA_DIR": str(folder),
        "DJANGO_SECRET_KEY": f"load-bench-{secrets.token_urlsafe(32)}",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": loadbench.HOST,
        "DJANGO_SECURE": "0",  # plain HTTP on loopback
        "DJANGO_MANIFEST_STATIC": "0",  # the API needs no collected static files
    }
    result_file = folder / "result.json"
    command = [
        *(sys.executable, "-m", "bench.run_load_bench"),
        *("--in-fresh-database", "--json", str(result_file)),
        *("--patients", str(plan.patients), "--entries", str(plan.entries)),
        *("--batch-size", str(plan.batch_size), "--drop-every", str(plan.drop_every)),
        *("--workers", str(plan.workers)),
    ]
    sys.stdout.flush()
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=settings.BASE_DIR, check=False)
    total = time.perf_counter() - started
    if not result_file.exists():
        return {"passed": False, "failures": [f"exited with {completed.returncode}"]}
    result = json.loads(result_file.read_text())
    result["total_seconds"] = total
    return result


def summary(results: dict[str, dict], skipped: dict[str, str]) -> None:
    print("\nLoad benchmark (entries: stored / expected; times in ms)")
    print(
        f"{'database':11} {'entries':>13} {'5xx':>4} {'p50':>7} {'p95':>7} "
        f"{'sync s':>7} {'total s':>7} {'entries/s':>9}  result"
    )
    for name, r in results.items():
        if "entries" not in r:
            print(f"{name:11} did not finish: {'; '.join(r['failures'])}")
            continue
        print(
            f"{name:11} {r['entries']:>6,}/{r['expected_entries']:<6,} "
            f"{r['server_errors']:>4} {loadbench.fmt_ms(r['p50_ms']):>7} "
            f"{loadbench.fmt_ms(r['p95_ms']):>7} {r['sync_seconds']:7.1f} "
            f"{r['total_seconds']:7.1f} {r['entries_per_second']:9,.0f}  "
            + ("passed" if r["passed"] else "FAILED: " + "; ".join(r["failures"]))
        )
    for name, reason in skipped.items():
        print(f"{name:11} skipped: {reason}")


# ---- The child: one fresh database ----


def run_here(plan: loadbench.Plan, json_file: Path | None) -> None:
    if connection.introspection.table_names():
        raise Failed("--in-fresh-database needs an empty database: run without it.")
    call_command("migrate", interactive=False, verbosity=0)
    phones = loadbench.make_phones(plan)
    expected_sites = len(loadbench.SITES) * sum(
        item["type"] == "injection" for phone in phones for item in phone.items
    )
    connections.close_all()  # gunicorn's workers have the database to themselves
    server = loadbench.Gunicorn(
        plan.workers, dict(os.environ), settings.DATA_DIR, settings.BASE_DIR
    )
    with server:
        try:
            server.wait_until_ready()
        except loadbench.ServerError as exc:
            raise Failed(f"gunicorn did not start: {exc}") from None
        batches, seconds = loadbench.run_phones(server.address, phones, plan)
    requests = server.requests()
    report = loadbench.Report(
        vendor=connection.vendor,
        plan=plan,
        seconds=seconds,
        batches=batches,
        server_statuses=Counter(status for status, _ in requests),
        server_seconds=[took for _, took in requests],
        server_problems=server.problems(),
        stored=loadbench.stored_entries(phones),
        expected_sites=expected_sites,
    )
    for line in report.lines():
        print(line)
    if json_file:
        json_file.write_text(json.dumps(report.as_json()))
    if report.failures():
        raise Failed(f"Load benchmark failed on {connection.vendor}.")


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def create_postgres_database(url: str) -> str | None:
    """Makes the empty database named in `url` (dropping one left by an earlier run); returns
    why it could not, or None."""
    import psycopg
    from psycopg import sql

    name, server = postgres_server(url)
    if "loadbench" not in name:
        raise Failed(f"The database name in {url} must contain 'loadbench': it is dropped.")
    try:
        socket.create_connection((server["host"], server["port"]), timeout=2).close()
    except OSError:
        return f"nothing answers on {server['host']}:{server['port']}"
    try:
        drop_postgres_database(url)
        with psycopg.connect(**server, dbname="postgres", autocommit=True) as maintenance:
            maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        return f"could not create {name}: {exc}"
    return None


def drop_postgres_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name, server = postgres_server(url)
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as maintenance:
        maintenance.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def postgres_server(url: str) -> tuple[str, dict]:
    """The database name in `url`, and how to reach its server."""
    config = environ.Env.db_url_config(url)
    server = {
        "host": config["HOST"] or "127.0.0.1",
        "port": int(config["PORT"] or 5432),
        "user": config["USER"] or None,
        "password": config["PASSWORD"] or None,
    }
    return config["NAME"], server


if __name__ == "__main__":
    sys.exit(main())
