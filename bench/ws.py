"""A minimal websocket client (RFC 6455, text frames in, nothing out): enough to time live updates."""
from __future__ import annotations

import asyncio
import base64
import os
import struct
import time


class Socket:
    """One subscribed page: connects with a session cookie and records (arrival time, text) of every frame."""

    def __init__(self, host: str, port: int, path: str, cookie: str):
        self.host, self.port, self.path, self.cookie = host, port, path, cookie
        self.frames: list[tuple[float, str]] = []
        self._task: asyncio.Task | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self, timeout: float = 10) -> None:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{self.host}:{self.port}\r\n"
            f"Cookie: {self.cookie}\r\n\r\n"
        ).encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"websocket refused: {head[:80]!r}")
        self._writer = writer
        self._task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        buffer: list[bytes] = []
        try:
            while True:
                first, second = await reader.readexactly(2)
                length = second & 0x7F
                if length == 126:
                    (length,) = struct.unpack("!H", await reader.readexactly(2))
                elif length == 127:
                    (length,) = struct.unpack("!Q", await reader.readexactly(8))
                data = await reader.readexactly(length)
                opcode = first & 0x0F
                if opcode in (0x1, 0x0):
                    buffer.append(data)
                    if first & 0x80:  # FIN
                        self.frames.append((time.time(), b"".join(buffer).decode()))
                        buffer = []
                elif opcode == 0x8:  # close
                    return
                elif opcode == 0x9:  # ping: answer pong (masked, as a client must)
                    self._send(0xA, data)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            return

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        header = bytes([0x80 | opcode, 0x80 | len(payload)]) if len(payload) < 126 else None
        if header is None:
            return
        self._writer.write(header + mask + masked)

    async def close(self) -> None:
        if self._writer is not None:
            try:
                self._send(0x8, struct.pack("!H", 1000))
                self._writer.close()
            except (ConnectionError, RuntimeError):
                pass
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
