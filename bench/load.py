"""The built-in load generator (asyncio, one process): used when wrk is not
installed, and for the scenarios wrk cannot script (the SDK's three-request
pattern, a cold herd, latency while renewals run, many idle connections).
Prints one JSON document."""

import asyncio
import json
import sys
import time

LIMIT = 1 << 20


async def exchange(reader, writer, method, path, host, headers=()):
    head = ["%s %s HTTP/1.1" % (method, path), "Host: " + host] + ["%s: %s" % h for h in headers]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


def summary(latencies, errors, seconds):
    latencies = sorted(latencies)
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3) if latencies else None
    return {"requests": len(latencies), "errors": errors, "seconds": round(seconds, 3),
            "rps": round(len(latencies) / seconds, 1) if seconds else 0,
            "p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": pick(1.0)}


async def keepalive(host, port, path, seconds, concurrency, close=False):
    """GET `path` in a loop on `concurrency` connections (or a new one per request)."""
    latencies, errors = [], 0
    deadline = time.perf_counter() + seconds

    async def worker():
        nonlocal errors
        reader = writer = None
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port, limit=LIMIT)
                status, _ = await exchange(reader, writer, "GET", path, "%s:%d" % (host, port),
                                           [("Connection", "close")] if close else [])
                if status != 200:
                    errors += 1
                latencies.append(time.perf_counter() - started)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
                errors += 1
                writer = None
            if close and writer is not None:
                writer.close()
                writer = None
        if writer is not None:
            writer.close()
    begun = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summary(latencies, errors, time.perf_counter() - begun)


async def sdk(host, port, seconds, concurrency):
    """What an SDK does per fetch: a new connection, PUT the token, GET the
    role name, GET the credentials with the token."""
    latencies, errors = [], 0
    deadline = time.perf_counter() + seconds
    hostport = "%s:%d" % (host, port)

    async def worker():
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                reader, writer = await asyncio.open_connection(host, port, limit=LIMIT)
                status, token = await exchange(reader, writer, "PUT", "/latest/api/token", hostport,
                                               [("X-aws-ec2-metadata-token-ttl-seconds", "21600")])
                auth = [("X-aws-ec2-metadata-token", token.decode())]
                base = "/latest/meta-data/iam/security-credentials/"
                status2, role = await exchange(reader, writer, "GET", base, hostport, auth)
                status3, _ = await exchange(reader, writer, "GET", base + role.decode(), hostport, auth)
                writer.close()
                if (status, status2, status3) != (200, 200, 200):
                    errors += 1
                latencies.append(time.perf_counter() - started)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
                errors += 1
    begun = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summary(latencies, errors, time.perf_counter() - begun)


async def herd(host, port, path, count):
    """`count` first requests at once, each on its own connection."""
    latencies, statuses = [], {}

    async def one():
        started = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection(host, port, limit=LIMIT)
            status, _ = await exchange(reader, writer, "GET", path, "%s:%d" % (host, port), [("Connection", "close")])
            writer.close()
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
            status = "error"
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        latencies.append(time.perf_counter() - started)
    begun = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    result = summary(latencies, sum(v for k, v in statuses.items() if k != "200"), time.perf_counter() - begun)
    result["statuses"] = statuses
    return result


async def hold(host, port, path, count, seconds):
    """Open `count` keep-alive connections, one request each, then hold them."""
    connections, errors = [], 0
    for _ in range(count):
        try:
            reader, writer = await asyncio.open_connection(host, port, limit=LIMIT)
            status, _ = await exchange(reader, writer, "GET", path, "%s:%d" % (host, port))
            errors += status != 200
            connections.append(writer)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
            errors += 1
    sys.stdout.write(json.dumps({"open": len(connections), "errors": errors}) + "\n")
    sys.stdout.flush()
    await asyncio.sleep(seconds)
    for writer in connections:
        writer.close()
    return {"open": len(connections), "errors": errors}


def main(argv):
    mode, host, port = argv[0], argv[1], int(argv[2])
    if mode in ("keepalive", "close"):
        result = keepalive(host, port, argv[3], float(argv[4]), int(argv[5]), close=mode == "close")
    elif mode == "sdk":
        result = sdk(host, port, float(argv[3]), int(argv[4]))
    elif mode == "herd":
        result = herd(host, port, argv[3], int(argv[4]))
    elif mode == "hold":
        result = hold(host, port, argv[3], int(argv[4]), float(argv[5]))
    else:
        raise SystemExit("unknown mode " + mode)
    sys.stdout.write(json.dumps(asyncio.run(result)) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
