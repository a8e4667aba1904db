"""python-telegram-bot's requests to the Bot API over one aiohttp session, in place of its httpx default.

Measured under 50 residents at once (benchmarks/telegram_load.py, py-spy): most of the relay's CPU went to
httpx's connection pool, which looks over every pooled connection for every request, and to httpcore trying
to import sniffio (not installed) on every lock it makes. aiohttp's connector does neither; the web page
already runs on aiohttp. Requests without files go as one JSON body, which the Bot API accepts.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0
POOL_TIMEOUT = 1.0


class AiohttpRequest(BaseRequest):
    """At most `connections` requests to Telegram at once; more wait up to the pool timeout for a free one."""

    def __init__(self, connections: int = 64, read_timeout: float | None = READ_TIMEOUT):
        self._connections = connections
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300)
            # trust_env: HTTPS_PROXY / NO_PROXY are honoured, as they were with httpx (where Telegram is reached
            # through a proxy).
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
                skip_auto_headers=("Accept-Encoding",),
                trust_env=True,
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout=BaseRequest.DEFAULT_NONE,
        write_timeout=BaseRequest.DEFAULT_NONE,
        connect_timeout=BaseRequest.DEFAULT_NONE,
        pool_timeout=BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data and request_data.contains_files else None
        read = self._read_timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        connect = CONNECT_TIMEOUT if connect_timeout is BaseRequest.DEFAULT_NONE else connect_timeout
        pool = POOL_TIMEOUT if pool_timeout is BaseRequest.DEFAULT_NONE else pool_timeout
        write = (
            (MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT)
            if write_timeout is BaseRequest.DEFAULT_NONE
            else write_timeout
        )
        # aiohttp has no write timeout of its own: the read timeout starts once the body is written, so a
        # request is given connect + write + read in all, and the pool wait counts towards the connect.
        parts = (connect, pool, write, read)
        total = None if any(p is None for p in parts) else sum(parts)
        timeout = aiohttp.ClientTimeout(total=total, connect=(connect or 0) + (pool or 0) or None, sock_read=read)
        kwargs: dict = {}
        if files:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():  # type: ignore[union-attr]
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            kwargs["data"] = form
        elif request_data is not None:
            kwargs["data"] = json.dumps(request_data.parameters, ensure_ascii=False).encode()
            kwargs["headers"] = {"Content-Type": "application/json"}
        try:
            async with self._session.request(method, url, timeout=timeout, **kwargs) as response:
                return response.status, await response.read()
        except asyncio.TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {error}") from error
