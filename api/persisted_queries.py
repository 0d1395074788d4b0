"""Automatic persisted queries, the protocol Apollo Client (and others) speak: a client sends
`extensions.persistedQuery: {"version": 1, "sha256Hash": …}` without the document; if the hash is
known, the document kept for it runs, else the answer is the error `PersistedQueryNotFound`
(`PERSISTED_QUERY_NOT_FOUND`) and the client sends the document with its hash, which registers
it once the hash is checked.

Documents are kept per caller (each merchant, and the operator), so that whether a hash is known
tells no one what another merchant sends, in a bounded LRU store
(REFUNDS_PERSISTED_QUERY_CACHE_SIZE) of documents no longer than MAX_DOCUMENT_CHARS: a longer one
still runs but is not kept, so the store's memory stays bounded whatever clients send."""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from typing import Any

# Clients' documents are a few KiB; at most 1,000 of these is 64 MiB per process.
MAX_DOCUMENT_CHARS = 64 * 1024

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class PersistedQueryError(Exception):
    """A persisted-query request answered with this error and nothing run."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


NOT_FOUND = PersistedQueryError(200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
HASH_MISMATCH = PersistedQueryError(
    400,
    "PERSISTED_QUERY_HASH_MISMATCH",
    "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query's UTF-8 text.",
)
UNSUPPORTED = PersistedQueryError(
    400,
    "PERSISTED_QUERY_NOT_SUPPORTED",
    'extensions.persistedQuery must be {"version": 1, "sha256Hash": "<64 lowercase hex digits>"}.',
)


class PersistedQueries:
    def __init__(self, size: int) -> None:
        self.size = size
        self.documents: OrderedDict[tuple[str, str], str] = OrderedDict()

    def resolve(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        """The request to run: `payload` itself when it names no persisted query, else with the
        persisted query's document as its `query` and `persistedQuery` taken out of its
        `extensions`. Raises PersistedQueryError."""
        extensions = payload.get("extensions")
        if not isinstance(extensions, dict) or "persistedQuery" not in extensions:
            return payload
        sha256 = _hash_of(extensions["persistedQuery"])
        query = payload.get("query")
        if query is None:
            query = self._known(caller, sha256)
        elif isinstance(query, str):
            if hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest() != sha256:
                raise HASH_MISMATCH
            self._register(caller, sha256, query)
        rest = {k: v for k, v in extensions.items() if k != "persistedQuery"}
        resolved = {k: v for k, v in payload.items() if k != "extensions"}
        resolved["query"] = query  # not a string: strawberry refuses it as usual
        if rest:
            resolved["extensions"] = rest
        return resolved

    def _known(self, caller: str, sha256: str) -> str:
        key = (caller, sha256)
        document = self.documents.get(key)
        if document is None:
            raise NOT_FOUND
        self.documents.move_to_end(key)
        return document

    def _register(self, caller: str, sha256: str, document: str) -> None:
        if len(document) > MAX_DOCUMENT_CHARS or self.size <= 0:
            return
        key = (caller, sha256)
        self.documents[key] = document
        self.documents.move_to_end(key)
        if len(self.documents) > self.size:
            self.documents.popitem(last=False)


def _hash_of(persisted: Any) -> str:
    if not isinstance(persisted, dict) or type(persisted.get("version")) is not int:
        raise UNSUPPORTED
    if persisted["version"] != 1:
        raise UNSUPPORTED
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or SHA256_HEX.fullmatch(sha256) is None:
        raise UNSUPPORTED
    return sha256
