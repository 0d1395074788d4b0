"""A revoked key stops working on this process: evicted from the key cache, and every
WebSocket it opened closed with 4403.

Revocations arrive by NOTIFY from whichever process revoked the key (and at once from this
one's own revokeApiKey). After the LISTEN connection comes back, announcements sent while it was
down are lost: the cache is emptied and the open sockets' keys are checked in the database."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol
from uuid import UUID

from api.auth import Authenticator, MerchantPrincipal
from db.repositories.api_keys import ApiKeyStore

log = logging.getLogger("refunds.api")

REVOKED = 4403
LATELY_SECONDS = 60.0


class Socket(Protocol):
    websocket: Any  # strawberry's WebSocket adapter: `await close(code, reason)`


class OpenSockets:
    """This process's authenticated WebSocket handlers, by the key that opened them."""

    def __init__(self) -> None:
        self._by_principal: dict[MerchantPrincipal, set[Socket]] = {}

    def add(self, principal: MerchantPrincipal, socket: Socket) -> None:
        self._by_principal.setdefault(principal, set()).add(socket)

    def discard(self, principal: MerchantPrincipal, socket: Socket) -> None:
        sockets = self._by_principal.get(principal)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._by_principal[principal]

    def principals(self) -> list[MerchantPrincipal]:
        return list(self._by_principal)

    def of_key(self, key_id: UUID) -> list[Socket]:
        return [s for p, found in self._by_principal.items() if p.key_id == key_id for s in found]


class Revocations:
    def __init__(self, authenticator: Authenticator, sockets: OpenSockets, keys: ApiKeyStore):
        self.authenticator = authenticator
        self.sockets = sockets
        self.keys = keys
        self._closing: set[asyncio.Task[None]] = set()
        # key id -> until when: a socket whose key was looked up just before its revocation
        # and registered just after it is closed on registering.
        self._lately: dict[UUID, float] = {}

    def opened(self, principal: MerchantPrincipal, socket: Socket) -> None:
        self.sockets.add(principal, socket)
        if self._lately.get(principal.key_id, 0.0) > time.monotonic():
            self._spawn(_close(socket))

    def closed(self, principal: MerchantPrincipal, socket: Socket) -> None:
        self.sockets.discard(principal, socket)

    def on_notify(self, payload: str) -> None:
        try:
            key_id = UUID(payload)
        except ValueError:
            log.warning("ignored a malformed key revocation: %r", payload[:64])
            return
        self.revoked(key_id)

    def revoked(self, key_id: UUID) -> None:
        now = time.monotonic()
        self._lately = {k: until for k, until in self._lately.items() if until > now}
        self._lately[key_id] = now + LATELY_SECONDS
        self.authenticator.forget(key_id)
        for socket in self.sockets.of_key(key_id):
            self._spawn(_close(socket))

    def on_reconnect(self) -> None:
        self.authenticator.forget_all()
        self._spawn(self._close_revoked())

    async def _close_revoked(self) -> None:
        principals = self.sockets.principals()
        try:
            revoked = await self.keys.revoked_among((p.merchant_id, p.key_id) for p in principals)
        except Exception as error:  # the next reconnect checks again
            log.warning("could not check the open sockets' keys: %r", error)
            return
        for key_id in revoked:
            self.revoked(key_id)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._closing.add(task)  # held until done, so it is not collected mid-flight
        task.add_done_callback(self._closing.discard)


async def _close(socket: Socket) -> None:
    try:
        await socket.websocket.close(code=REVOKED, reason="API key revoked")
    except Exception:  # already closed: shutdown cleans up
        return
