#!/usr/bin/env python3
"""Change to screen with many open live streams, for the scale benchmark.

Usage: changes.py HOST:PORT SIMULATOR_URL STREAMS CHANGES
Opens STREAMS live streams of the dev environment (GET /api/live?env=dev, signed in with
the cookies of the file STREAMS_COOKIES, taken in turn), waits for each one's first
status, then CHANGES times scales dev's frontend through the simulated cluster's API and
measures, on every stream, the time from the change to the next status event. Prints
"median_ms P95_ms max_ms received expected".
"""
import asyncio
import json
import os
import sys
import time
import urllib.request


def cookies():
    with open(os.environ["STREAMS_COOKIES"]) as f:
        return [line.strip() for line in f if line.strip()]


class Stream:
    def __init__(self):
        self.events = asyncio.Queue()

    async def run(self, host, port, cookie, opened):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            f"GET /api/live?env=dev HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
            f"Cookie: {cookie}\r\n\r\n".encode()
        )
        await writer.drain()
        first = True
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"event: status"):
                if first:
                    first = False
                    opened.release()
                else:
                    self.events.put_nowait(time.monotonic())


def scale(simulator, replicas):
    request = urllib.request.Request(
        f"{simulator}/apis/apps/v1/namespaces/co2-calculator-dev/deployments/frontend/scale",
        data=json.dumps({"spec": {"replicas": replicas}}).encode(),
        headers={"Content-Type": "application/merge-patch+json"},
        method="PATCH",
    )
    urllib.request.urlopen(request, timeout=10).read()


async def main():
    (host, port), simulator = sys.argv[1].split(":"), sys.argv[2]
    count, changes = int(sys.argv[3]), int(sys.argv[4])
    jar = cookies()
    opened = asyncio.Semaphore(0)
    streams = [Stream() for _ in range(count)]
    tasks = [asyncio.create_task(s.run(host, int(port), jar[i % len(jar)], opened)) for i, s in enumerate(streams)]
    for _ in range(count):
        await asyncio.wait_for(opened.acquire(), 60)
    latencies, expected = [], 0
    for i in range(changes):
        # Whatever the last change still sends (its pods becoming ready) is not this one's.
        await asyncio.sleep(1.5)
        for s in streams:
            while not s.events.empty():
                s.events.get_nowait()
        t0 = time.monotonic()
        await asyncio.to_thread(scale, simulator, 3 if i % 2 == 0 else 2)
        expected += count
        for s in streams:
            try:
                arrived = await asyncio.wait_for(s.events.get(), 10)
                latencies.append((arrived - t0) * 1000)
            except asyncio.TimeoutError:
                pass
    for t in tasks:
        t.cancel()
    latencies.sort()
    if not latencies:
        print("0 0 0 0", expected)
        return
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    print(f"{pick(0.5):.1f} {pick(0.95):.1f} {latencies[-1]:.1f} {len(latencies)} {expected}")


asyncio.run(main())
