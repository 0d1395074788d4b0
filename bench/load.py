"""Load generation: wrk (Debian/Ubuntu `apt-get install wrk`, macOS `brew install wrk`) driven by
bench/lua/rotate.lua, and pgbench from the embedded PostgreSQL wheel. Every run is bounded by
its own duration and by a subprocess timeout on top."""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

ROTATE_LUA = Path(__file__).parent / "lua" / "rotate.lua"
INSTALL_HINT = (
    "wrk is not installed. Install it with `sudo apt-get install -y wrk` (Debian/Ubuntu) or "
    "`brew install wrk` (macOS), then run the benchmark again."
)


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rps": self.rps}


def require_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit(INSTALL_HINT)
    return found


def write_targets(path: Path, requests: list[tuple[str, dict[str, Any]]], query: str) -> Path:
    """One line per request: the Authorization header value, a tab, the JSON body."""
    with path.open("w") as out:
        for key, variables in requests:
            body = orjson.dumps({"query": query, "variables": variables}).decode()
            out.write(f"Bearer {key}\t{body}\n")
    return path


def run_wrk(
    name: str,
    url: str,
    targets: Path,
    *,
    seconds: int,
    connections: int,
    tag: str,
    threads: int = 1,
) -> Result:
    cmd = [
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(ROTATE_LUA),
        url,
        "--",
        str(targets),
        tag,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    errors = sum(
        raw[k]
        for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return Result(
        name,
        raw["requests"],
        raw["duration_us"] / 1e6,
        raw["p50_us"] / 1000,
        raw["p99_us"] / 1000,
        errors,
    )


def run_pgbench(
    name: str,
    pgbench: Path,
    script: Path,
    *,
    socket_dir: str,
    database: str,
    seconds: int,
    clients: int,
    defines: dict[str, int],
    log_dir: Path,
) -> Result:
    """pgbench in prepared mode; p50/p99 from its per-transaction log."""
    for old in log_dir.glob("pgbench_log*"):
        old.unlink()
    cmd = [
        str(pgbench),
        "-n",
        "-M",
        "prepared",
        "-c",
        str(clients),
        "-j",
        "2",
        "-T",
        str(seconds),
        "-f",
        str(script),
        "-h",
        socket_dir,
        "-U",
        "postgres",
        "-l",
        "--log-prefix",
        str(log_dir / "pgbench_log"),
    ]
    for key, value in defines.items():
        cmd += ["-D", f"{key}={value}"]
    done = subprocess.run(
        cmd + [database], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode not in (0, 2) or "tps = " not in done.stdout:
        raise RuntimeError(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
    committed_found = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    tps_found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    if committed_found is None or tps_found is None:
        raise RuntimeError(f"pgbench's summary is not the one expected:\n{done.stdout}")
    committed, tps = int(committed_found.group(1)), float(tps_found.group(1))
    latencies = []
    for log in log_dir.glob("pgbench_log*"):
        for row in log.read_text().splitlines():
            field = row.split()[2]
            if field.isdigit():  # "failed" / "skipped" rows carry no latency
                latencies.append(int(field) / 1000)
    q = [0.0] * 99
    if len(latencies) > 1:
        q = statistics.quantiles(latencies, n=100, method="inclusive")
    seconds_run = committed / tps if tps else float(seconds)
    return Result(name, committed, seconds_run, q[49], q[98], int(failed.group(1)) if failed else 0)
