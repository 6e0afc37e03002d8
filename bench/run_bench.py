#!/usr/bin/env python3
"""runas-meta's benchmark: the service against a stdlib baseline measured in
the same run (and moto's IMDS when moto is installed), on loopback only.

    python3 bench/run_bench.py            # the full run (about five minutes)
    python3 bench/run_bench.py --quick    # a few seconds: CI's check

It prints a table and writes JSON (bench/results.json, or --json FILE).
Load comes from wrk when it is installed (Debian's package), else from the
built-in asyncio generator (bench/load.py); the table says which.  No test
asserts a time: the quick run fails only when a scenario does not complete
or the cold herd makes more than one STS call per credential layer."""

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import test_runas_meta as t  # noqa: E402  (its FakeSTS: our own STS on 127.0.0.1)

PY = sys.executable
CONFIG = """\
[profile base]
region = eu-west-1

[profile bench]
role_arn = arn:aws:iam::123456789012:role/bench
source_profile = base
role_session_name = bench

[profile outage]
role_arn = arn:aws:iam::123456789012:role/outage
source_profile = base
role_session_name = outage
"""
CREDENTIALS = "[base]\naws_access_key_id = AKIABENCHEXAMPLE\naws_secret_access_key = benchSecretKey\n"
TARGETS = {"keepalive_ratio": 0.9, "close_ratio": 0.9, "moto_factor": 10, "sdk20_p99_ms": 5,
           "renewal_max_ms": 100, "rss_1000_mb": 60, "first_credential_ms": 300, "help_ms": 150}


def wait_port(port, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.005)
    return False


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as handle:
        return int(re.search(r"VmRSS:\s+(\d+)", handle.read()).group(1)) / 1024


class Home:
    """A temporary ~/.aws for the service, and the environment to use it."""

    def __init__(self, sts_url):
        self.path = tempfile.mkdtemp(prefix="runas-meta-bench-")
        t.write(os.path.join(self.path, ".aws", "config"), CONFIG)
        t.write(os.path.join(self.path, ".aws", "credentials"), CREDENTIALS)
        self.env = dict(os.environ, HOME=self.path, AWS_ENDPOINT_URL_STS=sts_url,
                        AWS_CONFIG_FILE=os.path.join(self.path, ".aws", "config"),
                        AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.path, ".aws", "credentials"))
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
            self.env.pop(name, None)

    def close(self):
        shutil.rmtree(self.path, ignore_errors=True)


class Service:
    """`python3 runas_meta.py ecs -p PORT bench` (or a launcher), its log to a file."""

    def __init__(self, home, script=None, port=0):
        self.log = tempfile.TemporaryFile()
        script = script or os.path.join(ROOT, "runas_meta.py")
        self.proc = subprocess.Popen([PY, script, "ecs", "-p", str(port), "bench"], env=home.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log, text=True)
        for line in self.proc.stdout:
            match = re.search(r" on http://127\.0\.0\.1:(\d+)$", line)
            if match:
                self.port = int(match.group(1))
            if line.startswith("Press Ctrl-C"):
                break
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.terminate()
        self.proc.wait(15)
        self.proc.stdout.close()
        self.log.close()


class Child:
    """A helper server that prints {"port": N} first (the baseline)."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.port = json.loads(self.proc.stdout.readline())["port"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(15)
        self.proc.stdout.close()


class Moto:
    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen([PY, "-c", "from moto.server import main; main()", "-H", "127.0.0.1", "-p",
                                      str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(self.port):
            raise RuntimeError("moto_server did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(15)


def _ms(text):
    value, unit = float(text[:-2] if text.endswith(("ms", "us")) else text[:-1]), text[-2:]
    return value / 1000 if unit == "us" else value * 1000 if not unit.endswith("ms") and text.endswith("s") else value


def wrk(url, seconds, connections, close):
    argv = ["wrk", "-t2", "-c%d" % connections, "-d%ds" % max(1, round(seconds)), "--latency", url]
    if close:
        argv[1:1] = ["-H", "Connection: close"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))  # none when every request timed out
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "p50_ms": latency and round(_ms(latency["50"]), 3), "p99_ms": latency and round(_ms(latency["99"]), 3),
            "errors": int(errors.group(1)) if errors else 0,
            "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0}


def load(*args, timeout=300):
    out = subprocess.run([PY, os.path.join(HERE, "load.py")] + [str(a) for a in args], capture_output=True,
                         text=True, timeout=timeout).stdout
    return json.loads(out.strip().splitlines()[-1])


def throughput(port, path, seconds, close, use_wrk):
    if use_wrk:
        return wrk("http://127.0.0.1:%d%s" % (port, path), seconds, 20, close)
    return load("close" if close else "keepalive", "127.0.0.1", port, path, seconds, 20)


def scenario_throughput(quick, use_wrk, sts):
    """(1) cached /credentials: baseline then service, alternately, in rounds;
    each round's ratio is service/baseline of that round, and the reported
    ratio is the median of the rounds' ratios (one noisy round decides
    nothing; every round is in the report)."""
    seconds, rounds = (1, 1) if quick else (5, 3)
    home = Home(sts.url)
    service, baseline = Service(home), Child([PY, os.path.join(HERE, "baseline_server.py")])
    moto = None
    try:
        urllib.request.urlopen(service.url + "/credentials", timeout=10).read()  # warm: STS once
        results = {}
        for close in (False, True):
            kind = "close" if close else "keepalive"
            runs = {"service": [], "baseline": []}
            for _ in range(rounds):
                runs["baseline"].append(throughput(baseline.port, "/credentials", seconds, close, use_wrk))
                runs["service"].append(throughput(service.port, "/credentials", seconds, close, use_wrk))
            for who, values in runs.items():
                best = sorted(values, key=lambda r: r["rps"])[len(values) // 2]
                results["%s_%s" % (who, kind)] = best
            ratios = [round(s["rps"] / b["rps"], 3) for s, b in zip(runs["service"], runs["baseline"])]
            results["%s_rounds" % kind] = [{"service_rps": s["rps"], "baseline_rps": b["rps"], "ratio": r}
                                           for s, b, r in zip(runs["service"], runs["baseline"], ratios)]
            results["%s_ratio" % kind] = statistics.median(ratios)
        try:
            moto = Moto()
        except Exception as exc:  # moto is optional here
            results["moto"] = "not measured: %s" % exc
        if moto:
            path = "/latest/meta-data/iam/security-credentials/default-role"
            for close in (False, True):
                kind = "close" if close else "keepalive"
                results["moto_" + kind] = throughput(moto.port, path, seconds, close, use_wrk)
                results["moto_factor_" + kind] = round(results["service_" + kind]["rps"] / results["moto_" + kind]["rps"], 1)
        return results, home
    finally:
        service.stop()
        baseline.stop()
        if moto:
            moto.stop()


def scenario_sdk(quick, home):
    """(2) new connection, token PUT, role GET, credentials GET: the service,
    then the baseline doing the same three exchanges."""
    seconds = 1 if quick else 5
    results = {}
    for who in ("service", "baseline"):
        server = Service(home) if who == "service" else Child([PY, os.path.join(HERE, "baseline_server.py")])
        try:
            for n in (1, 20, 100):
                results[str(n) if who == "service" else "baseline_%d" % n] = load(
                    "sdk", "127.0.0.1", server.port, seconds, n)
        finally:
            server.stop()
    return results


def scenario_herd(quick, sts):
    """(3) 500 concurrent first requests against a cold service."""
    home = Home(sts.url)
    sts.delay, before = 0.3, len(sts.calls)
    service = Service(home)
    try:
        result = load("herd", "127.0.0.1", service.port, "/credentials", 500)
        calls = [c["Action"] for c in sts.calls[before:]]
        result["sts_calls"] = {action: calls.count(action) for action in sorted(set(calls))}
        result["layers"] = 2
        return result
    finally:
        sts.delay = 0.0
        service.stop()
        home.close()


def scenario_renewal(quick, sts):
    """(4) STS takes 2 s per call and every set is inside its refresh window."""
    home = Home(sts.url)
    service = Service(home, os.path.join(HERE, "renewal_service.py"))
    try:
        urllib.request.urlopen(service.url + "/credentials", timeout=10).read()
        sts.delay, before = 2.0, len(sts.calls)
        result = load("keepalive", "127.0.0.1", service.port, "/credentials", 3 if quick else 10, 20)
        result["sts_calls_during"] = len(sts.calls) - before
        return result
    finally:
        sts.delay = 0.0
        service.stop()
        home.close()


def scenario_outage(quick, use_wrk, sts):
    """(9) STS fails (HTTP 500) for 45 s while 20 keep-alive and 20
    new-connection clients ask for a profile with nothing cached: STS's calls
    per second during the outage, and how soon the first credentials come
    once STS is back."""
    seconds = 5 if quick else 45
    home = Home(sts.url)
    service = Service(home)
    url = service.url + "/credentials/outage"
    try:
        urllib.request.urlopen(service.url + "/credentials", timeout=10).read()  # the base session: cached
        sts.fail, before = 10 ** 9, len(sts.calls)
        results = {}
        clients = [threading.Thread(target=lambda kind=kind: results.update(
            {kind: throughput(service.port, "/credentials/outage", seconds, kind == "close", use_wrk)}))
            for kind in ("keepalive", "close")]
        started = time.monotonic()
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        outage = time.monotonic() - started
        calls = len(sts.calls) - before
        sts.fail, back = 0, time.monotonic()
        while True:
            try:
                urllib.request.urlopen(url, timeout=10).read()
                break
            except urllib.error.HTTPError:
                time.sleep(0.05)
        recovered = time.monotonic() - back
        return {"outage_s": round(outage, 1), "sts_calls": calls, "sts_calls_per_s": round(calls / outage, 2),
                "requests": sum(r["requests"] for r in results.values()),
                "errors": sum(r.get("errors", 0) for r in results.values()),
                "recovery_s": round(recovered, 2), "pause_max_s": 30}
    finally:
        sts.fail = 0
        service.stop()
        home.close()


def scenario_process(quick, home, aws_cli=None):
    """(10) `runas-meta process` as an SDK runs a generated credential_process
    profile (the file imported, so its bytecode is cached), against a bare
    `python3 -c pass` in the same run; and the AWS CLI's
    `configure export-credentials` where this CLI has it (v2 only: --aws-cli)
    for the same role, resolved by the CLI itself from its warm cache."""
    service, runs = Service(home), 5 if quick else 15
    env = dict(home.env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a workstation: bytecode is cached
    code = "import sys;sys.path.insert(0,sys.argv.pop(1));import runas_meta;sys.exit(runas_meta.main())"

    def median_ms(argv):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            result = subprocess.run(argv, env=env, capture_output=True, timeout=60)
            times.append((time.perf_counter() - started) * 1000)
            if result.returncode != 0:
                return None
        return round(statistics.median(times), 1)
    shim = t.rm.write_shim(env)  # what `profiles --write` generates
    try:
        rounds = []
        for _ in range(1 if quick else 3):
            bare = median_ms([PY, "-c", "pass"])
            through_shim = median_ms([PY, shim, ROOT, "process", "bench"])
            process = median_ms([PY, "-c", code, ROOT, "process", "bench"])
            script = median_ms([PY, os.path.join(ROOT, "runas_meta.py"), "process", "bench"])
            rounds.append({"python_pass_ms": bare, "shim_ms": through_shim, "process_ms": process,
                           "process_as_script_ms": script,
                           "shim_own_ms": through_shim is not None and round(through_shim - bare, 1),
                           "own_ms": process is not None and round(process - bare, 1)})
        cli = aws_cli or shutil.which("aws")
        export, version = None, ""
        if cli:
            env["AWS_REGION"] = "eu-west-1"  # the CLI takes no region from a source profile
            version = subprocess.run([cli, "--version"], env=env, capture_output=True, text=True).stdout.split(" ")[0]
            subprocess.run([cli, "configure", "export-credentials", "--profile", "bench"], env=env,
                           capture_output=True, timeout=60)  # the CLI's own AssumeRole, then its cache
            export = median_ms([cli, "configure", "export-credentials", "--profile", "bench"])
        own = statistics.median(r["own_ms"] for r in rounds)
        return {"rounds": rounds, "own_ms": own, "shim_own_ms": statistics.median(r["shim_own_ms"] for r in rounds),
                "aws_export_credentials_ms": export, "aws_cli": version,
                "ratio_to_aws": export and round(rounds[-1]["shim_ms"] / export, 3)}
    finally:
        service.stop()


def scenario_memory(quick, home):
    """(5) resident size idle and with 1,000 open keep-alive connections."""
    service = Service(home)
    try:
        urllib.request.urlopen(service.url + "/credentials", timeout=10).read()
        idle = rss_mb(service.proc.pid)
        holder = subprocess.Popen([PY, os.path.join(HERE, "load.py"), "hold", "127.0.0.1", str(service.port),
                                   "/credentials", "1000", "3"], stdout=subprocess.PIPE, text=True)
        opened = json.loads(holder.stdout.readline())
        loaded = rss_mb(service.proc.pid)
        holder.wait(60)
        holder.stdout.close()
        return {"idle_mb": round(idle, 1), "with_1000_mb": round(loaded, 1), "open": opened["open"],
                "errors": opened["errors"]}
    finally:
        service.stop()


def scenario_startup(quick, home):
    """(6) process start to the first credential served (warm cache), and --help."""
    runs = 2 if quick else 7
    firsts = []
    for _ in range(runs):
        port = free_port()
        started = time.perf_counter()
        proc = subprocess.Popen([PY, os.path.join(ROOT, "runas_meta.py"), "ecs", "-p", str(port), "bench"],
                                env=home.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/credentials" % port, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.002)
        firsts.append((time.perf_counter() - started) * 1000)
        proc.terminate()
        proc.wait(15)
    # `python runas_meta.py` compiles the file at every start; `python -m runas_meta` and the
    # installed `runas-meta` use __pycache__, unless PYTHONDONTWRITEBYTECODE forbids it (as here).
    cache = tempfile.mkdtemp(prefix="runas-meta-pycache-")
    cached_env = dict(os.environ, PYTHONPYCACHEPREFIX=cache)
    cached_env.pop("PYTHONDONTWRITEBYTECODE", None)
    helps = {}
    for label, argv, env in (("script", [PY, os.path.join(ROOT, "runas_meta.py"), "--help"], None),
                             ("module_cached", [PY, "-m", "runas_meta", "--help"], cached_env),
                             ("python_alone", [PY, "-c", "pass"], None),
                             ("python_no_site", [PY, "-S", "-c", "pass"], None)):
        subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=True)  # warm the caches
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=True)
            times.append((time.perf_counter() - started) * 1000)
        helps[label] = round(statistics.median(times), 1)
    shutil.rmtree(cache, ignore_errors=True)
    return {"first_credential_ms": round(statistics.median(firsts), 1), "help_ms": helps}


def scenario_discovery(quick):
    """(7) IAM Identity Center role discovery over many accounts: bench/discovery.py."""
    import discovery  # bench/discovery.py: the fake portal and its runs
    return discovery.run(quick)


def scenario_large_config(quick, sts):
    """(8) a config of 2,000 profiles (1,000 roles, 1,000 key pairs): GET /,
    /list-profiles and /list-roles, median time of N keep-alive requests
    each, against the same requests to the two-profile service measured in
    the same run."""
    requests = 20 if quick else 200
    small, large = Home(sts.url), Home(sts.url)
    t.write(os.path.join(large.path, ".aws", "config"), CONFIG + "".join(
        "\n[profile role-%04d]\nrole_arn = arn:aws:iam::%012d:role/team-%04d\nsource_profile = base\n" % (n, n, n)
        for n in range(1000)))
    t.write(os.path.join(large.path, ".aws", "credentials"), CREDENTIALS + "".join(
        "\n[keys-%04d]\naws_access_key_id = AKIA%016d\naws_secret_access_key = s%d\n" % (n, n, n)
        for n in range(1000)))
    results = {"profiles": 2000, "requests": requests}
    try:
        for who, home in (("two_profiles", small), ("2000_profiles", large)):
            service = Service(home)
            try:
                connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
                for path in ("/", "/list-profiles", "/list-roles"):
                    times = []
                    for _ in range(requests + 5):
                        started = time.perf_counter()
                        connection.request("GET", path)
                        response = connection.getresponse()
                        body = response.read()
                        times.append((time.perf_counter() - started) * 1000)
                        if response.status != 200:
                            raise RuntimeError("GET %s: %d" % (path, response.status))
                    results.setdefault(path, {})[who] = {"median_ms": round(statistics.median(times[5:]), 3),
                                                          "bytes": len(body)}
                connection.close()
            finally:
                service.stop()
        for path in ("/", "/list-profiles", "/list-roles"):
            value = results[path]
            value["ratio"] = round(value["2000_profiles"]["median_ms"] / value["two_profiles"]["median_ms"], 2)
        return results
    finally:
        small.close()
        large.close()


def table(report):
    r = report
    lines = ["runas-meta benchmark (%s; load: %s)" % (r["machine"], r["load_generator"]), ""]
    tp = r["throughput"]
    for kind in ("keepalive", "close"):
        s, b = tp["service_" + kind], tp["baseline_" + kind]
        lines.append("(1) /credentials %-9s service %8.0f req/s p50 %.2f ms p99 %.2f ms | baseline %8.0f req/s | "
                     "ratio %.2f, median of %d rounds (target >= %.2f)" % (
                         kind, s["rps"], s["p50_ms"], s["p99_ms"], b["rps"], tp[kind + "_ratio"],
                         len(tp[kind + "_rounds"]), TARGETS[kind + "_ratio"]))
        lines.append("    rounds (service / baseline req/s = ratio): " + "; ".join(
            "%.0f / %.0f = %.2f" % (r["service_rps"], r["baseline_rps"], r["ratio"]) for r in tp[kind + "_rounds"]))
        if "moto_" + kind in tp:
            lines.append("    moto IMDS %-9s %8.0f req/s: the service is %.1fx (target >= %d)" % (
                kind, tp["moto_" + kind]["rps"], tp["moto_factor_" + kind], TARGETS["moto_factor"]))
    for n in ("1", "20", "100"):
        v, base = r["sdk"][n], r["sdk"]["baseline_" + n]
        lines.append("(2) SDK pattern, %3s clients: %7.0f fetches/s p50 %.2f ms p99 %.2f ms errors %d | baseline "
                     "%7.0f fetches/s p99 %.2f ms%s" % (n, v["rps"], v["p50_ms"], v["p99_ms"], v["errors"], base["rps"],
                                                     base["p99_ms"], " (target p99 < 5 ms)" if n == "20" else ""))
    h = r["herd"]
    lines.append("(3) cold herd of 500: STS calls %s for %d layers, errors %d" % (h["sts_calls"], h["layers"], h["errors"]))
    w = r["renewal"]
    lines.append("(4) renewal under load (STS 2 s/call): %d requests, worst %.1f ms, p99 %.2f ms, %d STS calls meanwhile "
                 "(target worst < %d ms)" % (w["requests"], w["max_ms"], w["p99_ms"], w["sts_calls_during"],
                                             TARGETS["renewal_max_ms"]))
    m = r["memory"]
    lines.append("(5) memory: idle %.1f MB, with %d keep-alive connections %.1f MB (target < %d MB)" % (
        m["idle_mb"], m["open"], m["with_1000_mb"], TARGETS["rss_1000_mb"]))
    s = r["startup"]
    lines.append("(6) start to first credential %.0f ms (target < %d); --help %.0f ms as a script, %.0f ms with -m "
                 "and bytecode cached (target < %d; python alone %.0f ms, without site %.0f ms)" % (
                     s["first_credential_ms"], TARGETS["first_credential_ms"], s["help_ms"]["script"],
                     s["help_ms"]["module_cached"], TARGETS["help_ms"], s["help_ms"]["python_alone"],
                     s["help_ms"]["python_no_site"]))
    d = r["discovery"]
    lines.append("(7) IAM Identity Center discovery, %d accounts x 2 roles, %.0f ms per portal call: parallel %.2f s "
                 "against serial %.2f s = %.1fx (target >= 5x); restart %.1f ms to %d roles with %d portal calls "
                 "(target < 1 s, none)" % (d["accounts"], d["latency_ms"], d["parallel"]["seconds"],
                                           d["serial"]["seconds"], d["speedup"], d["restart"]["seconds"] * 1000,
                                           d["restart"]["roles"], d["restart"]["portal_calls_before"]))
    th = d["throttled"]
    lines.append("    throttled to %d calls/s: %.2f s against the floor %.2f s = %.2fx (target <= 1.5x), %d roles, "
                 "%d calls refused with 429 and asked again" % (th["rate_per_s"], th["seconds"], th["floor_s"],
                                                                th["of_floor"], th["roles"], th["throttled"]))
    c = r["large_config"]
    lines.append("(8) 2,000 profiles, median of %d requests: " % c["requests"] + "; ".join(
        "%s %.2f ms (two profiles %.2f ms, %.1fx)" % (path, c[path]["2000_profiles"]["median_ms"],
                                                     c[path]["two_profiles"]["median_ms"], c[path]["ratio"])
        for path in ("/", "/list-profiles", "/list-roles")))
    o = r["outage"]
    lines.append("(9) STS down for %.0f s under 40 clients (%d requests answered, %d of them 503): %d STS calls, %.2f "
                 "a second; first credentials %.2f s after STS is back (pause at most %d s)" % (
                     o["outage_s"], o["requests"], o["errors"], o["sts_calls"], o["sts_calls_per_s"], o["recovery_s"],
                     o["pause_max_s"]))
    pr = r["process"]
    lines.append("(10) a generated credential_process (the shim): %s ms of its own work beyond python3 -c pass "
                 "(target < 100; rounds: %s); runas_meta imported: %s ms of its own; as a script %s ms in all; "
                 "aws configure export-credentials: %s" % (
                     pr["shim_own_ms"], "; ".join("%s - %s" % (x["shim_ms"], x["python_pass_ms"]) for x in pr["rounds"]),
                     pr["own_ms"], pr["rounds"][-1]["process_as_script_ms"],
                     "%s ms with %s, shim/aws %sx" % (pr["aws_export_credentials_ms"], pr["aws_cli"],
                                                        pr["ratio_to_aws"]) if pr["aws_export_credentials_ms"] else
                     "not in this AWS CLI (%s; the command is v2's: --aws-cli PATH)" % (pr["aws_cli"] or "none")))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: does every scenario complete?")
    parser.add_argument("--json", default=os.path.join(HERE, "results.json"), help="where to write the JSON")
    parser.add_argument("--aws-cli", metavar="PATH", help="an AWS CLI v2 for (10)'s comparison (default: aws on PATH)")
    parser.add_argument("--no-wrk", action="store_true", help="use the built-in load generator even if wrk is here")
    args = parser.parse_args(argv)
    use_wrk = shutil.which("wrk") is not None and not args.no_wrk
    sts = t.FakeSTS()
    report = {"machine": "%s, %d cores, Python %s" % (platform.platform(), os.cpu_count(), platform.python_version()),
              "load_generator": "wrk -t2 -c20" if use_wrk else "bench/load.py (asyncio, 20 connections)",
              "quick": args.quick}
    try:
        report["throughput"], home = scenario_throughput(args.quick, use_wrk, sts)
        try:
            report["sdk"] = scenario_sdk(args.quick, home)
            report["memory"] = scenario_memory(args.quick, home)
            report["startup"] = scenario_startup(args.quick, home)
            report["process"] = scenario_process(args.quick, home, args.aws_cli)
        finally:
            home.close()
        report["herd"] = scenario_herd(args.quick, sts)
        report["renewal"] = scenario_renewal(args.quick, sts)
        report["large_config"] = scenario_large_config(args.quick, sts)
        report["discovery"] = scenario_discovery(args.quick)
        report["outage"] = scenario_outage(args.quick, use_wrk, sts)
    finally:
        sts.close()
    print(table(report))
    with open(args.json, "w") as out:
        json.dump(report, out, indent=2)
    print("\nJSON: %s" % args.json)
    herd = report["herd"]
    if herd["errors"] or any(count != 1 for count in herd["sts_calls"].values()) or len(herd["sts_calls"]) != 2:
        print("FAILED: the cold herd must make exactly one STS call per layer with no error")
        return 1
    if report["discovery"]["restart"]["portal_calls_before"]:
        print("FAILED: after a restart the role list must show before any portal call")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
