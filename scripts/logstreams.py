#!/usr/bin/env python3
"""Log streams (GET /api/logs) against a Gantry server on the simulated cluster, for the
benchmark. The simulated pod's lines are written through the simulator's control API.

  logstreams.py latency HOST:PORT SIMULATOR_URL NAMESPACE ENV POD COOKIE N
      follows the pod, writes N lines 100 ms apart, prints "latency MEDIAN_MS P95_MS":
      from writing each line to its row reaching the stream
  logstreams.py hold HOST:PORT N SECONDS TARGETS...
      opens N followed streams (each TARGET "env=…&pod=…", taken in turn; cookies from the
      file STREAMS_COOKIES, one per line, in turn), prints "open N" once each has its first
      rows, keeps them open SECONDS, closes them
  logstreams.py throughput HOST:PORT SIMULATOR_URL NAMESPACE ENV POD COOKIE SECONDS
      follows the pod while lines are written as fast as the simulator takes them; prints
      "rows R SECONDS": rows the stream delivered
"""
import asyncio
import json
import os
import sys
import time
import urllib.request


def write(simulator, namespace, pod, text):
    body = json.dumps({"namespace": namespace, "pod": pod, "text": text}).encode()
    request = urllib.request.Request(f"{simulator}/simulator/logs", data=body,
                                     headers={"content-type": "application/json"})
    urllib.request.urlopen(request).read()


async def open_stream(host, port, query, cookie):
    # An event carries up to 200 rows on one data line.
    reader, writer = await asyncio.open_connection(host, port, limit=16 * 1024 * 1024)
    writer.write(
        f"GET /api/logs?{query} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\nCookie: {cookie}\r\n\r\n".encode()
    )
    await writer.drain()
    return reader, writer


async def events(reader):
    """Yields (name, data) of each event."""
    name, data = "", []
    while True:
        line = await reader.readline()
        if not line:
            return
        line = line.rstrip(b"\r\n")
        if line.startswith(b"event: "):
            name = line[7:].decode()
        elif line.startswith(b"data: "):
            data.append(line[6:].decode(errors="replace"))
        elif line == b"" and name:
            yield name, "".join(data)
            name, data = "", []


async def latency(address, simulator, namespace, env, pod, cookie, n):
    host, port = address.rsplit(":", 1)
    reader, writer = await open_stream(host, int(port), f"env={env}&pod={pod}", cookie)
    stream = events(reader)
    await stream.__anext__()  # the tail: the stream is open
    loop = asyncio.get_running_loop()
    samples = []
    for i in range(n):
        marker = f"latency-marker-{i}-{time.time_ns()}"
        started = time.perf_counter()
        await loop.run_in_executor(None, write, simulator, namespace, pod, marker)
        async for name, data in stream:
            if marker in data:
                samples.append((time.perf_counter() - started) * 1000)
                break
        await asyncio.sleep(0.1)
    writer.close()
    samples.sort()
    print(f"latency {samples[len(samples) // 2]:.1f} {samples[int(len(samples) * 0.95) - 1]:.1f}", flush=True)


async def hold(address, n, seconds, targets):
    host, port = address.rsplit(":", 1)
    with open(os.environ["STREAMS_COOKIES"]) as f:
        jar = [line.strip() for line in f if line.strip()]
    opened = asyncio.Semaphore(0)
    stop = asyncio.Event()

    async def one(i):
        reader, writer = await open_stream(host, int(port), targets[i % len(targets)], jar[i % len(jar)])
        try:
            first = True
            async for name, _ in events(reader):
                if first and name == "lines":
                    first = False
                    opened.release()
                if stop.is_set():
                    break
        finally:
            writer.close()

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    for _ in range(n):
        await asyncio.wait_for(opened.acquire(), 60)
    print(f"open {n}", flush=True)
    await asyncio.sleep(seconds)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def throughput(address, simulator, namespace, env, pod, cookie, seconds):
    host, port = address.rsplit(":", 1)
    reader, writer = await open_stream(host, int(port), f"env={env}&pod={pod}&tail=1", cookie)
    stream = events(reader)
    await stream.__anext__()
    line = json.dumps({"level": "INFO", "logger": "bench", "message": "x" * 120})
    block = "\n".join([line] * 200)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    async def writer_task():
        while not done.is_set():
            await loop.run_in_executor(None, write, simulator, namespace, pod, block)

    task = asyncio.create_task(writer_task())
    rows, started = 0, time.perf_counter()
    async for name, data in stream:
        rows += data.count('<div class="log-row')
        if time.perf_counter() - started >= seconds:
            break
    done.set()
    await task
    writer.close()
    print(f"rows {rows} {time.perf_counter() - started:.1f}", flush=True)


mode = sys.argv[1]
if mode == "latency":
    asyncio.run(latency(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7], int(sys.argv[8])))
elif mode == "hold":
    asyncio.run(hold(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5:]))
elif mode == "throughput":
    asyncio.run(throughput(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7], float(sys.argv[8])))
else:
    sys.exit(f"unknown mode {mode}")
