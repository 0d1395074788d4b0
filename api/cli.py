"""The `refunds` command: serve, migrate, export-schema, merchant create."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from api.config import ConfigurationError, Settings, check_admin_token

DEMO_KEY_FILE = "demo_api_key"
ADMIN_TOKEN_FILE = "admin_token"
WEBHOOK_SECRET_KEYS_FILE = "webhook_secret_keys"


def _database_url(settings: Settings) -> tuple[str, bool]:
    """The URL to use, and whether it is the embedded server (started here if needed)."""
    if settings.database_url:
        return settings.database_url, False
    from db import embedded

    return embedded.start(settings.data_dir), True


def _write_private(path: Path, line: str) -> None:
    """A secret written to a file only its owner can read, from its first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        file.write(line + "\n")
    path.chmod(0o600)  # O_CREAT's mode applies to a new file only


def _admin_token(settings: Settings) -> tuple[str, str]:
    """The admin token, and what the banner shows for it: the token itself only on the start
    that generates it (banners end up in logs); otherwise where the operator finds it."""
    if settings.admin_token:
        return settings.admin_token, "from REFUNDS_ADMIN_TOKEN (not shown)"
    path = settings.data_dir / ADMIN_TOKEN_FILE
    if path.exists():
        kept = check_admin_token(path.read_text().strip())
        return kept, f"kept in {path} (not shown again)"
    token = "adm_" + secrets.token_urlsafe(32)
    _write_private(path, token)
    return token, f"{token}   (generated; kept in {path})"


def _webhook_secret_keys(settings: Settings) -> tuple[str, str]:
    """The keys that encrypt webhook secrets (db/secret_box.py), and the banner's line for
    them: REFUNDS_WEBHOOK_SECRET_KEYS, else the data dir's file, made on the first start.
    Processes that share a database must share these keys: set the variable in production."""
    if settings.webhooks.secret_keys:
        return settings.webhooks.secret_keys, "from REFUNDS_WEBHOOK_SECRET_KEYS (not shown)"
    path = settings.data_dir / WEBHOOK_SECRET_KEYS_FILE
    if path.exists():
        return path.read_text().strip(), f"kept in {path}"
    from db.secret_box import new_key_entry

    keys = new_key_entry()
    _write_private(path, keys)
    return keys, f"generated; kept in {path}"


def _with_webhook_secret_keys(settings: Settings) -> tuple[Settings, str]:
    """`settings` with the webhook secret keys (checked), exported for the processes this
    one starts (uvicorn's workers read the environment), and the banner's line."""
    keys, shown = _webhook_secret_keys(settings)
    os.environ["REFUNDS_WEBHOOK_SECRET_KEYS"] = keys
    return replace(settings, webhooks=replace(settings.webhooks, secret_keys=keys)), shown


async def _seed_demo_if_new(url: str, data_dir: Path) -> str:
    from api import demo
    from db.engine import create_engine

    key_file = data_dir / DEMO_KEY_FILE
    if key_file.exists():
        return key_file.read_text().strip()
    engine = create_engine(url, pool_size=2)
    try:
        key = await demo.seed(engine)
    finally:
        await engine.dispose()
    _write_private(key_file, key)
    return key


@dataclass(frozen=True, slots=True)
class Prepared:
    database_url: str
    admin_token: str
    admin_token_shown: str  # the banner's line for it (see _admin_token)
    webhook_keys_shown: str  # … and for the webhook secret keys (_webhook_secret_keys)
    demo_key: str | None


def prepare(settings: Settings, *, demo: bool | None) -> Prepared:
    """Admin token known, database up and migrated, demo data seeded when wanted."""
    from db.migrate import upgrade

    admin_token, admin_token_shown = _admin_token(settings)
    _, webhook_keys_shown = _with_webhook_secret_keys(settings)
    url, embedded = _database_url(settings)
    upgrade(url)
    demo_key = None
    if demo if demo is not None else embedded:
        demo_key = asyncio.run(_seed_demo_if_new(url, settings.data_dir))
    return Prepared(url, admin_token, admin_token_shown, webhook_keys_shown, demo_key)


def _banner(host: str, port: int, prepared: Prepared) -> str:
    url = f"http://{host}:{port}/graphql"
    demo_key = prepared.demo_key
    lines = [
        "",
        f"  Dashboard        http://{host}:{port}/   (sign in with a merchant API key)",
        f"  Refunds API      {url}   (open it in a browser for GraphiQL)",
        f"  Admin token      {prepared.admin_token_shown}",
        f"  Webhook keys     {prepared.webhook_keys_shown}   (encrypt webhook secrets at rest)",
    ]
    if demo_key:
        lines += [
            f"  Demo merchant    {demo_key}",
            "",
            "  In GraphiQL, open Headers and paste:",
            f'    {{"Authorization": "Bearer {demo_key}"}}',
            "  Then try:  { viewer { name balance } transactions(first: 5) { edges { node { id "
            "amount status paymentMethod source refundableAmount } } } }",
        ]
    return "\n".join(lines) + "\n"


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from api.app import MAX_BODY_BYTES

    settings = Settings.from_env()
    prepared = prepare(settings, demo=args.demo)
    # Workers (and the app factory) read these; they never start a database of their own.
    os.environ["DATABASE_URL"] = prepared.database_url
    os.environ["REFUNDS_ADMIN_TOKEN"] = prepared.admin_token
    print(_banner(args.host, args.port, prepared), flush=True)
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again. Exit through
    # Python there (not the default handler) so that atexit stops the embedded PostgreSQL.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="api.http_protocol:TimedHttpToolsProtocol",  # closes requests that never finish
        limit_concurrency=settings.edge.max_connections,
        ws_max_size=MAX_BODY_BYTES,  # as for HTTP bodies; larger messages close with 1009
        log_level=args.log_level,
        timeout_graceful_shutdown=10,
        # Browsers offer permessage-deflate and uvicorn accepts it by default: zlib state per
        # connection and a compression per frame per subscriber, for frames of a few hundred
        # bytes (bench/LEVERS.md, "figures behind code choices").
        ws_per_message_deflate=False,
    )


def _exit_cleanly(_signum: int, _frame: object) -> None:
    sys.exit(0)


def cmd_worker(args: argparse.Namespace) -> None:
    """The refund processor without the API; `serve` runs one too unless REFUNDS_PROCESSOR=off."""
    import uvloop

    from db.migrate import upgrade
    from processor.runtime import run_worker

    settings, _ = _with_webhook_secret_keys(Settings.from_env())
    url, _ = _database_url(settings)
    upgrade(url)
    health_port = settings.processor.health_port if args.health_port is None else args.health_port
    if health_port is not None:
        signal.signal(signal.SIGTERM, _exit_cleanly)  # as for serve: uvicorn re-raises it
    # uvloop, as `serve` runs on: the webhook dispatcher's sockets cost less CPU on it than on
    # asyncio's own loop (bench/WEBHOOKS.md).
    uvloop.run(
        run_worker(
            url,
            settings.processor,
            settings.gateway_delay_scale,
            settings.webhooks,
            refund_window_days=settings.refund_window_days,
            health_host=args.health_host,
            health_port=health_port,
            metrics_token=settings.edge.metrics_token,
        )
    )


def cmd_migrate(_args: argparse.Namespace) -> None:
    from db.migrate import upgrade

    url, _ = _database_url(Settings.from_env())
    upgrade(url)
    print("database is at the newest schema")


def cmd_export_schema(_args: argparse.Namespace) -> None:
    from api.schema import schema

    sys.stdout.write(schema.as_str() + "\n")


def cmd_new_webhook_key(_args: argparse.Namespace) -> None:
    from db.secret_box import new_key_entry

    print(new_key_entry())


def cmd_reseal_webhook_secrets(_args: argparse.Namespace) -> None:
    from db.engine import create_engine
    from db.repositories.webhooks import reseal_secrets
    from db.secret_box import UnreadableSecret

    settings, _ = _with_webhook_secret_keys(Settings.from_env())
    url, _ = _database_url(settings)

    async def reseal() -> int:
        engine = create_engine(url, pool_size=1)
        try:
            return await reseal_secrets(engine, settings.secret_box())
        finally:
            await engine.dispose()

    try:
        changed = asyncio.run(reseal())
    except UnreadableSecret as unreadable:
        sys.exit(f"refunds: stopped at a webhook secret no listed key opens: {unreadable}")
    print(f"{changed} webhook endpoints sealed again under the first key")


def cmd_merchant_create(args: argparse.Namespace) -> None:
    from db.engine import create_engine
    from db.migrate import upgrade
    from db.uow import SqlUnitOfWork
    from domain.use_cases.platform import create_merchant

    url, _ = _database_url(Settings.from_env())
    upgrade(url)

    async def create() -> tuple[str, str]:
        engine = create_engine(url, pool_size=1)
        try:
            merchant, key = await create_merchant(SqlUnitOfWork(engine), args.name, args.currency)
        finally:
            await engine.dispose()
        return f"mer_{merchant.id.hex}", key

    merchant_id, key = asyncio.run(create())
    print(f"merchant {merchant_id}\napi key  {key}   (shown once: only its hash is stored)")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="refunds", description="The refunds GraphQL service.")
    sub = root.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (embedded PostgreSQL unless DATABASE_URL)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="seed demo data on first start (default: only on the embedded db)",
    )
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="run the refund processor alone (no GraphQL API)")
    worker.add_argument(
        "--health-port",
        type=int,
        help="serve /healthz, /readyz and /metrics on this port (default: "
        "REFUNDS_WORKER_HEALTH_PORT, else none)",
    )
    worker.add_argument("--health-host", default="127.0.0.1")
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("export-schema", help="print the GraphQL schema (SDL)").set_defaults(
        func=cmd_export_schema
    )
    sub.add_parser(
        "new-webhook-key",
        help="print a new entry for REFUNDS_WEBHOOK_SECRET_KEYS (put it first to encrypt with it)",
    ).set_defaults(func=cmd_new_webhook_key)
    sub.add_parser(
        "reseal-webhook-secrets",
        help="seal every webhook secret again under the first REFUNDS_WEBHOOK_SECRET_KEYS key",
    ).set_defaults(func=cmd_reseal_webhook_secrets)
    merchant = sub.add_parser("merchant", help="manage merchants")
    merchant_sub = merchant.add_subparsers(dest="merchant_command", required=True)
    create = merchant_sub.add_parser("create", help="create a merchant; prints its API key once")
    create.add_argument("name")
    create.add_argument("--currency", default="INR")
    create.set_defaults(func=cmd_merchant_create)
    return root


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except ConfigurationError as refused:
        sys.exit(f"refunds: {refused}")
