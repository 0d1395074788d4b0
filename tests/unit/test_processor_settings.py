"""`refunds worker`'s probe port is read through the one settings object."""

from __future__ import annotations

import pytest

from processor.config import ProcessorSettings


def test_the_worker_health_port_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFUNDS_WORKER_HEALTH_PORT", "9187")
    assert ProcessorSettings.from_env().health_port == 9187


@pytest.mark.parametrize("value", [None, ""])
def test_without_it_the_worker_serves_no_probes(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("REFUNDS_WORKER_HEALTH_PORT", raising=False)
    else:
        monkeypatch.setenv("REFUNDS_WORKER_HEALTH_PORT", value)
    assert ProcessorSettings.from_env().health_port is None
