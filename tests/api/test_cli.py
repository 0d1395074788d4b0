"""The `refunds` command, run as a user runs it: a real process, real signals."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from tests.support import Api, free_port

REFUNDS = [sys.executable, "-m", "api"]
ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFUNDS_")}
    env.pop("DATABASE_URL", None)
    env.update(extra)
    return env


def _wait_until_healthy(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise AssertionError(f"refunds serve exited early ({process.returncode}):\n{said}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("refunds serve did not become healthy")


def test_serve_on_a_fresh_data_dir_seeds_demo_data_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
) -> None:
    # given a data dir that does not exist yet
    data_dir = tmp_path / "data"
    port = free_port()
    process = subprocess.Popen(
        [*REFUNDS, "serve", "--port", str(port), "--log-level", "warning"],
        env=_env(REFUNDS_DATA_DIR=str(data_dir), REFUNDS_GATEWAY_DELAY_SCALE="0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_healthy(base_url, process)
        # when we use the demo key that it kept in the data dir
        key = (data_dir / "demo_api_key").read_text().strip()
        response = httpx.post(
            f"{base_url}/graphql",
            headers={"Authorization": f"Bearer {key}"},
            json={"query": "{ viewer { balance } transactions { totalCount } }"},
        )
        data = response.json()["data"]
        assert data["transactions"]["totalCount"] == 50
        assert data["viewer"]["balance"] > 0
        assert (data_dir / "pg" / "postmaster.pid").exists()
        # and a browser-like WebSocket offering permessage-deflate is served without it
        with ws_connect(
            f"ws://127.0.0.1:{port}/graphql",
            subprotocols=[Subprotocol("graphql-transport-ws")],
            compression="deflate",
            open_timeout=10,
        ) as ws:
            assert ws.subprotocol == "graphql-transport-ws"
            assert ws.response is not None
            assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
    finally:
        # then SIGTERM stops it with exit code 0, and the embedded PostgreSQL with it
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output.decode()
    banner = output.decode()
    assert key in banner
    assert re.search(r"Admin token\s+adm_", banner)
    deadline = time.monotonic() + 10
    while (data_dir / "pg" / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (data_dir / "pg" / "postmaster.pid").exists()


async def test_merchant_create_prints_a_key_that_works(api: Api, database_url: str) -> None:
    result = subprocess.run(  # noqa: ASYNC221 - the test waits on purpose
        [*REFUNDS, "merchant", "create", "Kirana Mart"],
        env=_env(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    key = re.search(r"api key\s+(rk_\S+)", result.stdout)
    assert key, result.stdout
    data = await api.gql("{ viewer { name currency } }", token=key.group(1))
    assert data["viewer"] == {"name": "Kirana Mart", "currency": "INR"}


def test_export_schema_prints_the_checked_in_schema() -> None:
    result = subprocess.run(
        [*REFUNDS, "export-schema"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=_env(),
    )
    assert result.stdout == (ROOT / "schema.graphql").read_text()
