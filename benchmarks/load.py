"""A small HTTP/1.1 load generator on asyncio streams (keep-alive, one connection per client).

Cheap per request (no HTTP library on the client side), so that on 2 cores the client takes as
little as possible from the servers it measures; every server of a run is measured with it.
"""

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict:
        ms = np.array(self.latencies) * 1000 if self.latencies else np.array([np.nan])
        ok = self.statuses.get(200, 0)
        return {"requests": sum(self.statuses.values()), "ok": ok,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "requests_per_second": round(ok / self.seconds, 1) if self.seconds else None,
                "p50_ms": round(float(np.percentile(ms, 50)), 2), "p90_ms": round(float(np.percentile(ms, 90)), 2),
                "p99_ms": round(float(np.percentile(ms, 99)), 2), "max_ms": round(float(np.max(ms)), 2)}


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, chunked = None, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if length is not None:
        return status, await reader.readexactly(length)
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return status, body
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    return status, await reader.read()


def _request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


async def _client(host, port, requests: list[bytes], result: LoadResult, deadline: float, stop_after: int,
                  counter: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline and counter[0] < stop_after:
            payload = requests[counter[0] % len(requests)]
            counter[0] += 1
            start = time.perf_counter()
            writer.write(payload)
            status, _ = await _read_response(reader)
            elapsed = time.perf_counter() - start
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status == 200:
                result.latencies.append(elapsed)
            else:
                result.latencies.append(elapsed)  # refusals count in latency too: they must be quick
    finally:
        writer.close()


async def _run(url: str, path: str, bodies: list[bytes], clients: int, seconds: float, requests: int,
               headers: dict[str, str]) -> LoadResult:
    host, port = url.removeprefix("http://").split(":")
    payloads = [_request(host, int(port), path, body, headers) for body in bodies]
    result = LoadResult()
    counter = [0]
    start = time.perf_counter()
    await asyncio.gather(*[_client(host, int(port), payloads[i::clients] or payloads, result, start + seconds,
                                   requests, counter) for i in range(clients)])
    result.seconds = time.perf_counter() - start
    return result


def run_load(url: str, path: str, bodies: list[bytes], clients: int = 1, seconds: float = 10.0,
             requests: int = 10**9, headers: dict[str, str] | None = None) -> LoadResult:
    """`clients` keep-alive connections POSTing the bodies in turn, for `seconds` or `requests`."""
    return asyncio.run(_run(url, path, bodies, clients, seconds, requests, headers or {}))
