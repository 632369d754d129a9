"""Signing keys by `kid` from a JWKS document: a file read once, or a URL fetched with
httpx, kept for a refresh interval and fetched again early (at most every few seconds)
when a token names a key not yet seen, which is how a rotation at the issuer arrives."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from app.clock import Clock
from app.errors import ApiError, ErrorCode
from app.settings import Settings

log = logging.getLogger("app.auth")

UNKNOWN_KID_REFETCH_SECONDS = 10.0
FETCH_TIMEOUT_SECONDS = 5.0


def _by_kid(document: Any) -> dict[str, dict[str, Any]]:
    keys = document.get("keys", []) if isinstance(document, dict) else []
    return {str(k["kid"]): k for k in keys if isinstance(k, dict) and k.get("kid")}


class KeySet:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._url = settings.jwt_jwks_url
        self._refresh_seconds = settings.jwt_jwks_refresh_seconds
        self._clock = clock
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: datetime | None = None
        self._lock = asyncio.Lock()
        if settings.jwt_jwks_file:
            self._keys = _by_kid(json.loads(Path(settings.jwt_jwks_file).read_text()))

    @property
    def configured(self) -> bool:
        return bool(self._url) or bool(self._keys)

    async def key(self, kid: str) -> dict[str, Any] | None:
        if self._url and self._due(kid):
            async with self._lock:
                if self._due(kid):
                    await self._fetch(self._url)
            if not self._keys:
                raise ApiError(
                    ErrorCode.UNAVAILABLE, "The token signing keys cannot be fetched; retry."
                )
        return self._keys.get(kid)

    def _due(self, kid: str) -> bool:
        if self._fetched_at is None:
            return True
        age = (self._clock.now() - self._fetched_at).total_seconds()
        if kid not in self._keys:
            return age >= UNKNOWN_KID_REFETCH_SECONDS
        return age >= self._refresh_seconds

    async def _fetch(self, url: str) -> None:
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as http:
                response = await http.get(url)
                response.raise_for_status()
                keys = _by_kid(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("could not fetch the JWKS at %s: %s", url, exc)
            return  # keep serving with the keys we have, if any
        finally:
            self._fetched_at = self._clock.now()
        self._keys = keys
