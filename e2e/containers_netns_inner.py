"""`ecs --containers`, run inside private network and mount namespaces ONLY.

test_containers_netns.py starts this file as
`unshare -n -m --propagation private python3 e2e/containers_netns_inner.py`.
It builds what docker builds, in namespaces of its own: a bridge with two
"containers" (network namespaces on veth pairs, default route via the
bridge), a guest one routed hop behind the second container, and a
neighbour on a plain veth with a route to 169.254.170.0/24.  Then it runs
the real service as root dropping to `nobody`, botocore and the AWS CLI in
the containers, and prints one JSON report; the outer test asserts on it.
Everything it made goes with the namespaces when it exits."""

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)

import runas_meta as rm  # noqa: E402
import test_runas_meta as t  # noqa: E402
from e2e._netns import only_loopback_here, wait_until  # noqa: E402

ADDRESS = rm.ECS_ADDRESS
OTHER_UID = 23456  # another local user of the host (no passwd entry needed)


def sh(*argv, ns=None, check=True):
    if ns is not None:
        argv = ("nsenter", "--net=/proc/%d/ns/net" % ns) + argv
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=60)


def address_on_lo():
    return (" %s/32 " % ADDRESS) in sh("ip", "-o", "addr", "show", "dev", "lo").stdout


def namespace():
    """A process in a network namespace of its own (a container's)."""
    proc = subprocess.Popen(["unshare", "-n", "sleep", "600"])
    wait_until(lambda: os.readlink("/proc/%d/ns/net" % proc.pid) != os.readlink("/proc/self/ns/net"))
    return proc


class Topology:
    """docker0 as docker makes it, two containers, a routed guest, a neighbour."""

    def __init__(self):
        sh("ip", "link", "set", "lo", "up")
        sh("mount", "-t", "sysfs", "sysfs", "/sys")  # this namespace's interfaces (a private mount namespace)
        sh("ip", "link", "add", "rmxbr0", "type", "bridge")
        sh("ip", "addr", "add", "172.17.0.1/16", "dev", "rmxbr0")
        sh("ip", "link", "set", "rmxbr0", "up")
        self.procs = [namespace(), namespace(), namespace(), namespace()]
        self.c1, self.c2, self.guest, self.neighbour = [p.pid for p in self.procs]
        for index, pid in ((1, self.c1), (2, self.c2)):
            sh("ip", "link", "add", "rmxv%d" % index, "type", "veth", "peer", "name", "eth0", "netns", str(pid))
            sh("ip", "link", "set", "rmxv%d" % index, "master", "rmxbr0", "up")
            sh("ip", "link", "set", "lo", "up", ns=pid)
            sh("ip", "link", "set", "eth0", "up", ns=pid)
            sh("ip", "addr", "add", "172.17.0.%d/16" % (index + 1), "dev", "eth0", ns=pid)
            sh("ip", "route", "add", "default", "via", "172.17.0.1", ns=pid)
        # the guest: one routed hop behind container 2
        sh("ip", "link", "add", "rmxg", "type", "veth", "peer", "name", "eth0", "netns", str(self.guest))
        sh("ip", "link", "set", "rmxg", "netns", str(self.c2))
        sh("ip", "addr", "add", "10.99.0.1/24", "dev", "rmxg", ns=self.c2)
        sh("ip", "link", "set", "rmxg", "up", ns=self.c2)
        sh("sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward", ns=self.c2)  # a router: this netns only
        sh("ip", "link", "set", "lo", "up", ns=self.guest)
        sh("ip", "link", "set", "eth0", "up", ns=self.guest)
        sh("ip", "addr", "add", "10.99.0.2/24", "dev", "eth0", ns=self.guest)
        sh("ip", "route", "add", "default", "via", "10.99.0.1", ns=self.guest)
        sh("ip", "route", "add", "10.99.0.0/24", "via", "172.17.0.3")
        # the neighbour: a plain veth (no bridge), a route to the ECS network through this host
        sh("ip", "link", "add", "rmxn", "type", "veth", "peer", "name", "eth0", "netns", str(self.neighbour))
        sh("ip", "addr", "add", "10.50.0.1/24", "dev", "rmxn")
        sh("ip", "link", "set", "rmxn", "up")
        sh("ip", "link", "set", "lo", "up", ns=self.neighbour)
        sh("ip", "link", "set", "eth0", "up", ns=self.neighbour)
        sh("ip", "addr", "add", "10.50.0.2/24", "dev", "eth0", ns=self.neighbour)
        sh("ip", "route", "add", "169.254.170.0/24", "via", "10.50.0.1", ns=self.neighbour)

    def close(self):
        for proc in self.procs:
            proc.kill()
            proc.wait()


def raw(path, ns=None, host=ADDRESS, method="GET", timeout=5.0, source_port=0):
    """One HTTP request to 169.254.170.2:80 from namespace `ns` (None: this
    host), from `source_port` (0: any): (status, JSON body or text), or
    ("timeout"/"error", reason)."""
    code = ("import json, socket, sys\n"
            "s = socket.create_connection((%r, 80), timeout=%r, source_address=('0.0.0.0', %d))\n"
            "s.sendall(%r.encode())\n"
            "data = b''\n"
            "while True:\n"
            "    chunk = s.recv(65536)\n"
            "    if not chunk: break\n"
            "    data += chunk\n"
            "print(data.decode('latin-1'))\n") % (
        ADDRESS, timeout, source_port, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (method, path, host))
    argv = [sys.executable, "-c", code]
    if ns is not None:
        argv = ["nsenter", "--net=/proc/%d/ns/net" % ns] + argv
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 30)
    if result.returncode != 0:
        return ["timeout" if "timed out" in result.stderr else "error", result.stderr.strip().splitlines()[-1:]]
    head, _, body = result.stdout.partition("\n\n")  # text mode: universal newlines
    try:
        body = json.loads(body)
    except ValueError:
        body = body[:200]
    return [int(head.split()[1]), body]


BOTOCORE = ("import json, botocore.session\n"
            "try:\n"
            "    c = botocore.session.Session().get_credentials()\n"
            "    f = c.get_frozen_credentials()\n"
            "    print(json.dumps({'ok': True, 'method': c.method, 'key': f.access_key}))\n"
            "except Exception as e:\n"
            "    print(json.dumps({'ok': False, 'error': type(e).__name__}))\n")


def client_env(relative_uri, empty):
    return ["env", "-i", "PATH=" + os.environ["PATH"], "HOME=/nonexistent", "AWS_CONFIG_FILE=" + empty,
            "AWS_SHARED_CREDENTIALS_FILE=" + empty, "AWS_DEFAULT_REGION=eu-west-1",
            "AWS_METADATA_SERVICE_TIMEOUT=2", "AWS_METADATA_SERVICE_NUM_ATTEMPTS=1",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=" + relative_uri]


def botocore_in(ns, relative_uri, empty):
    argv = ["nsenter", "--net=/proc/%d/ns/net" % ns] + client_env(relative_uri, empty) + [sys.executable, "-c", BOTOCORE]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=90)
    return json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else {"ok": False,
                                                                                             "error": result.stderr[-300:]}


def aws_cli_in(ns, relative_uri, empty):
    """`aws configure list`: where the CLI found credentials, and the key's last four characters."""
    aws = shutil.which("aws")
    argv = ["nsenter", "--net=/proc/%d/ns/net" % ns] + client_env(relative_uri, empty) + [aws, "configure", "list"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=90)
    line = next((l for l in result.stdout.splitlines() if l.strip().startswith("access_key")), "")
    return {"exit": result.returncode, "access_key_line": line.split()}


def as_other_user(path):
    """A request from another local user of this host, with a valid id."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(OTHER_UID)
            os.setuid(OTHER_UID)
            with socket.create_connection((ADDRESS, 80), timeout=10) as sock:
                sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, ADDRESS)).encode())
                answer = b""
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
            os.write(write_end, answer[:4000])
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read().decode("latin-1")
    os.waitpid(pid, 0)
    head, _, body = answer.partition("\r\n\r\n")
    return [int(head.split()[1]) if head else 0, json.loads(body) if body.startswith("{") else body]


def grant_cli(env, port, *args):
    result = subprocess.run([sys.executable, os.path.join(HERE, "runas_meta.py"), "grant", "-p", str(port)] + list(args),
                            env=env, capture_output=True, text=True, timeout=30)
    return result.returncode, result.stdout, result.stderr


def ids_of(pid):
    with open("/proc/%d/status" % pid) as handle:
        return [int(x) for x in re.search(r"^Uid:\s+(.*)$", handle.read(), re.M).group(1).split()]


def nobody_home(sts_url, prefix):
    """A config folder of `nobody`'s and the environment of `sudo` from
    nobody: the service, started as root, drops to that user."""
    nobody = pwd.getpwnam("nobody")
    home = tempfile.mkdtemp(prefix=prefix)
    os.chmod(home, 0o755)
    config, credentials = os.path.join(home, "config"), os.path.join(home, "credentials")
    t.write(config, t.STANDARD_CONFIG)
    t.write(credentials, t.STANDARD_CREDENTIALS)
    for path in (home, config, credentials):
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    os.chmod(credentials, 0o600)
    return home, {"PATH": os.environ["PATH"], "HOME": "/root", "SUDO_UID": str(nobody.pw_uid),
                  "SUDO_GID": str(nobody.pw_gid), "AWS_CONFIG_FILE": config,
                  "AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_ENDPOINT_URL_STS": sts_url}


def main():
    if not only_loopback_here() or os.geteuid() != 0:
        print(json.dumps({"refused": "not root inside a fresh network namespace (unshare -n -m)"}))
        return 3
    sts = t.FakeSTS()
    home, env = nobody_home(sts.url, "runas-meta-containers-")
    empty = os.path.join(home, "empty")
    t.write(empty, "")
    net = Topology()
    report = {"before": address_on_lo()}
    try:
        service = t.ServiceProcess(["ecs", "--containers", "-p", "0", "nomfa"], env)
        report["banner"] = service.output
        report["added"] = address_on_lo()
        report["uids"] = ids_of(service.proc.pid)
        port = service.port
        code, out, err = grant_cli(env, port, "nomfa", "--label", "web", "--env-file", os.path.join(home, "web.env"))
        report["grant"] = {"exit": code, "out": out, "err": err}
        uri = re.search(r"^AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=(\S+)$", out, re.M).group(1)
        report["relative_uri"] = uri
        with open(os.path.join(home, "web.env")) as handle:
            report["env_file"] = [handle.read(), oct(os.stat(handle.name).st_mode & 0o777)]
        host_key = service.get("/credentials")["AccessKeyId"]
        report["host_key"] = host_key
        report["c1_botocore"] = botocore_in(net.c1, uri, empty)
        report["c1_cli"] = aws_cli_in(net.c1, uri, empty)
        report["c2_no_id"] = botocore_in(net.c2, "/v2/credentials/" + "A" * 43, empty)
        report["c2_raw_no_id"] = raw("/v2/credentials/" + "A" * 43, net.c2)
        report["c1_elsewhere"] = {path: raw(path, net.c1, method=method) for method, path in (
            ("GET", "/"), ("GET", "/credentials"), ("GET", "/credentials/nomfa"), ("GET", "/grants"),
            ("GET", "/status"), ("PUT", "/latest/api/token"), ("GET", "/latest/meta-data/iam/security-credentials/"))}
        report["c1_other_hosts"] = {host: raw(uri, net.c1, host=host)[0] for host in (
            "127.0.0.1:%d" % port, "169.254.170.2:8080", "localhost", "evil.example")}
        report["c1_health"] = raw("/healthcheck", net.c1)
        report["guest"] = raw(uri, net.guest, timeout=3)
        report["guest_botocore"] = botocore_in(net.guest, uri, empty)
        report["neighbour"] = raw(uri, net.neighbour)
        report["other_user"] = as_other_user(uri)
        # a renewal on the host: the container's next fetch has the new key
        urllib_request("POST", "http://127.0.0.1:%d/refresh" % port)
        report["renewed_key"] = service.get("/credentials")["AccessKeyId"]
        report["c1_after_renewal"] = botocore_in(net.c1, uri, empty)
        code, out, err = grant_cli(env, port, "--list")
        report["list"] = {"exit": code, "out": out}
        started = time.monotonic()
        code, out, err = grant_cli(env, port, "--revoke", "web")
        report["revoke"] = {"exit": code, "out": out, "err": err}
        report["after_revoke"] = raw(uri, net.c1)
        report["revoke_to_refusal_s"] = round(time.monotonic() - started, 3)
        report["c1_botocore_after_revoke"] = botocore_in(net.c1, uri, empty)
        report["sigterm_exit"] = service.stop(signal.SIGTERM)
        report["log"] = service.stderr
        report["after_sigterm"] = address_on_lo()

        # --allow-other-users: other users of this host yes, containers never
        service = t.ServiceProcess(["ecs", "--containers", "--allow-other-users", "-p", "0", "nomfa"], env)
        code, out, _ = grant_cli(env, service.port, "nomfa", "--label", "web2")
        uri2 = re.search(r"^AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=(\S+)$", out, re.M).group(1)
        report["allow_others"] = {"other_user": as_other_user(uri2)[0], "container_credentials":
                                  raw("/credentials", net.c2), "container_grant": raw(uri2, net.c2)[0]}
        report["sigkill_exit"] = service.stop(signal.SIGKILL)
        report["after_sigkill"] = wait_until(lambda: not address_on_lo())
        report["grant_ids_in_log"] = [u for u in (uri, uri2) if u.rsplit("/", 1)[1] in report["log"] + service.stderr]

        # another proxy's network on a bridge: refused, naming it, nothing touched
        sh("ip", "link", "add", "rmxother", "type", "bridge")
        sh("ip", "addr", "add", "169.254.170.1/24", "dev", "rmxother")
        sh("ip", "link", "set", "rmxother", "up")
        result = subprocess.run([sys.executable, os.path.join(HERE, "runas_meta.py"), "ecs", "--containers", "nomfa"],
                                env=env, capture_output=True, text=True, timeout=30)
        report["collision"] = {"exit": result.returncode, "stderr": result.stderr, "address": address_on_lo()}
        sh("ip", "link", "del", "rmxother")
    finally:
        net.close()
        sts.close()
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(report))
    return 0


def urllib_request(method, url):
    import urllib.request
    with urllib.request.urlopen(urllib.request.Request(url, method=method, data=b""), timeout=30) as response:
        return response.status


if __name__ == "__main__":
    sys.exit(main())
