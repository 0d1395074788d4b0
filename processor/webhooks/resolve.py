"""Host name resolution for webhook URLs (domain.webhooks.Resolver)."""

from __future__ import annotations

import asyncio
import socket


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to; none when it does not resolve."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in found))
