"""Start what the benchmark measures and keep it up for profiling by hand, for a bounded time:
`python -m bench.up [--quick] [--hold 600]`. Prints the URLs and a merchant key; stops by itself."""

from __future__ import annotations

import asyncio
import random
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import database, mutation, servers
from bench.run import options, progress, stop_on_sigterm
from bench.seed import seed


def main() -> None:
    argv = sys.argv[1:]
    hold = 600
    if "--hold" in argv:
        at = argv.index("--hold")
        hold = int(argv[at + 1])
        del argv[at : at + 2]
    args = options(argv)
    stop_on_sigterm()
    work = Path(tempfile.mkdtemp(prefix="refunds-bench-up-"))
    db = database.start(work)
    service = ceiling = None
    try:
        servers.migrate(db.url, args.service_root)
        seeded = asyncio.run(seed(db.url, args.merchants, args.per_merchant))
        extra = dict(item.split("=", 1) for item in args.service_env)
        service = servers.start_service(
            db.url, "adm_" + secrets.token_urlsafe(24), work, args.service_root, extra
        )
        ceiling = servers.start_ceiling(db.url, work)
        service.wait_ready()
        ceiling.wait_ready()
        targets = mutation.prepare(seeded, work, random.Random(5), "spread")
        print(f"initiateRefund targets {targets}", flush=True)
        print(
            f"service {service.url} pid {service.process.pid}\nceiling {ceiling.url}\n"
            f"key {seeded.keys[0]}\nrefund rfd_{seeded.refund_ids[0][1].hex}\n"
            f"database {db.url}\nwork {work}",
            flush=True,
        )
        progress(f"holding for {hold} s")
        time.sleep(hold)
    finally:
        for server in (service, ceiling):
            if server is not None:
                server.stop()
        db.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
