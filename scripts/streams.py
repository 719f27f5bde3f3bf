#!/usr/bin/env python3
"""Holds N live streams (GET /api/live) open against a Gantry server, for the benchmark.

Usage: streams.py HOST:PORT N SECONDS
Opens N connections (signed in with the cookies in the file STREAMS_COOKIES, one per line,
taken in turn: a session may hold only a few streams, as a person has only a few tabs), waits until each has received its first status event, prints
"open N" (so the caller can measure the server's memory), keeps them open for SECONDS
while counting the events they receive, then prints "events M" and closes them.
"""
import asyncio
import os
import sys


def cookies():
    with open(os.environ["STREAMS_COOKIES"]) as f:
        return [line.strip() for line in f if line.strip()]


async def stream(host, port, opened, counts, stop, cookie):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET /api/live HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\nCookie: {cookie}\r\n\r\n".encode()
    )
    await writer.drain()
    first = True
    try:
        while not stop.is_set():
            try:
                line = await asyncio.wait_for(reader.readline(), 0.5)
            except asyncio.TimeoutError:
                continue
            if not line:
                break
            if line.startswith(b"event: status"):
                counts[0] += 1
                if first:
                    first = False
                    opened.release()
    finally:
        writer.close()


async def main():
    address, n, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    host, port = address.rsplit(":", 1)
    opened = asyncio.Semaphore(0)
    counts = [0]
    stop = asyncio.Event()
    jar = cookies()
    tasks = [
        asyncio.create_task(stream(host, int(port), opened, counts, stop, jar[i % len(jar)]))
        for i in range(n)
    ]
    for _ in range(n):
        await asyncio.wait_for(opened.acquire(), 30)
    print(f"open {n}", flush=True)
    await asyncio.sleep(seconds)
    print(f"events {counts[0]}", flush=True)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)


asyncio.run(main())
