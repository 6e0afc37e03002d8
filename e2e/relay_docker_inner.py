"""The relay with real docker and a host service run as an ordinary user,
inside private network, mount and PID namespaces ONLY.

test_relay_docker.py starts this file as
`unshare -n -m -p --fork --mount-proc --propagation private python3 e2e/relay_docker_inner.py`.
As e2e/containers_docker_inner.py: Debian's dockerd with its state on a
tmpfs, an image from `docker import` of an empty root filesystem with /usr
and Python bind-mounted read-only.  Then: a network with subnet
169.254.170.0/24 (gateway .1), the host's service as `nobody` from the start
(`setpriv`, no root) with `--relay-listen 169.254.170.1:12320`, the relay in
a container at 169.254.170.2 with this runas_meta.py and the relay secret
mounted read-only, and clients in other containers of that network with
only AWS_CONTAINER_CREDENTIALS_RELATIVE_URI.  Prints one JSON report."""

import json
import os
import pwd
import re
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)

import test_runas_meta as t  # noqa: E402
from e2e._netns import wait_until  # noqa: E402
from e2e.containers_docker_inner import (IMAGE, docker, enter_fresh_namespaces, python_mounts,  # noqa: E402
                                         relative_uri, with_dockerd)
from e2e.containers_netns_inner import BOTOCORE, grant_cli, nobody_home, sh  # noqa: E402

NETWORK = "relaynet"
GATEWAY, RELAY = "169.254.170.1", "169.254.170.2"
LISTEN = 12320

# Requests from inside a container: [url, headers] each -> [status, code] (or the error's name).
RAW = ("import json, sys, urllib.request, urllib.error\n"
       "out = []\n"
       "for url, headers in json.loads(sys.argv[1]):\n"
       "    try:\n"
       "        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:\n"
       "            out.append([r.status, json.loads(r.read()).get('code')])\n"
       "    except urllib.error.HTTPError as error:\n"
       "        out.append([error.code, json.loads(error.read()).get('code')])\n"
       "    except Exception as error:\n"
       "        out.append(['error', type(error).__name__])\n"
       "print(json.dumps(out))\n")


def run_on_network(variables, argv, ip):
    """`docker run` the empty image on the relay's network at `ip`, only `variables` set."""
    args = ["run", "--rm", "--network", NETWORK, "--ip", ip] + python_mounts()
    for name, value in dict({"AWS_DEFAULT_REGION": "eu-west-1", "AWS_METADATA_SERVICE_TIMEOUT": "2",
                             "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "1"}, **variables).items():
        args += ["-e", "%s=%s" % (name, value)]
    return docker(*(args + [IMAGE] + argv), check=False)


def last_json(result, fallback):
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return fallback(result)


def botocore_at(uri, ip):
    result = run_on_network({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": uri}, [sys.executable, "-c", BOTOCORE], ip)
    return last_json(result, lambda r: {"ok": False, "error": r.stderr[-400:]})


def aws_cli_at(uri, ip):
    """`aws configure list`: where the CLI found credentials, the key's last four characters."""
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    result = run_on_network({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": uri}, [aws, "configure", "list"], ip)
    line = next((l for l in result.stdout.splitlines() if l.strip().startswith("access_key")), "")
    return {"exit": result.returncode, "access_key_line": line.split(), "stderr": result.stderr[-400:]}


def raw_at(requests, ip):
    result = run_on_network({}, [sys.executable, "-c", RAW, json.dumps(requests)], ip)
    return last_json(result, lambda r: [["error", r.stderr[-400:]]])


def start_relay(secret_file):
    script = os.path.join(HERE, "runas_meta.py")
    docker("run", "-d", "--name", "relay", "--network", NETWORK, "--ip", RELAY, *python_mounts(),
           "-v", "%s:/relay/runas_meta.py:ro" % script, "-v", "%s:/run/relay-secret:ro" % secret_file,
           IMAGE, sys.executable, "/relay/runas_meta.py", "relay", "-v", "--upstream",
           "http://%s:%d" % (GATEWAY, LISTEN), "--secret-file", "/run/relay-secret")
    return wait_until(lambda: "relay: http://%s:80/" % RELAY in docker("logs", "relay", check=False).stdout, 60)


def service_as_nobody(env):
    """The host's service as nobody from its start: setpriv, no sudo, no root."""
    return t.ServiceProcess(["ecs", "-p", "0", "nomfa", "--relay-listen", "%s:%d" % (GATEWAY, LISTEN)], env,
                            prefix=["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"])


def python_for_nobody():
    """This Python where nobody can run it: when it lives under a folder
    only root may enter (pyenv's /root/.pyenv), that folder is replaced, in
    this mount namespace only, by a tmpfs holding just the Python tree."""
    probe = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-c", "pass"]
    if subprocess.run(probe, capture_output=True).returncode == 0:
        return "as it is"
    tree = os.path.realpath(sys.prefix)
    top = "/" + tree.strip("/").split("/")[0]  # /root
    keep = os.path.join(top, os.path.relpath(tree, top).split(os.sep)[0])  # /root/.pyenv
    stage = "/run/runas-meta-python"
    os.makedirs(stage)
    sh("mount", "--bind", keep, stage)
    sh("mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", top)
    os.makedirs(keep)
    sh("mount", "--move", stage, keep)
    return "%s over a tmpfs on %s" % (keep, top)


def uids_of(pid):
    with open("/proc/%d/status" % pid) as handle:
        return [int(x) for x in re.search(r"^Uid:\s+(.*)$", handle.read(), re.M).group(1).split()]


def scenario(env, home, sts, report):
    docker("network", "create", "--subnet", "169.254.170.0/24", "--gateway", GATEWAY, NETWORK)
    service = service_as_nobody(env)
    try:
        port = service.port
        report["service_uids"] = uids_of(service.proc.pid)
        report["nobody"] = pwd.getpwnam("nobody").pw_uid
        report["banner_relay"] = [line for line in service.lines if "relay listener" in line]
        secret_file = os.path.join(home, "runas-meta", "relay-secret")
        report["secret_mode"] = oct(os.stat(secret_file).st_mode & 0o777)
        report["relay_up"] = start_relay(secret_file)
        grants = {label: relative_uri(grant_cli(env, port, "nomfa", "--label", label)[1])
                  for label in ("app", "cli", "other")}
        report["grant_ids"] = [uri.rsplit("/", 1)[1] for uri in grants.values()]
        report["host_key"] = service.get("/credentials/nomfa")["AccessKeyId"]
        report["botocore"] = botocore_at(grants["app"], "169.254.170.10")
        report["cli"] = aws_cli_at(grants["cli"], "169.254.170.11")
        with open(secret_file) as handle:
            secret = handle.read().strip()
        direct = "http://%s:%d%s" % (GATEWAY, LISTEN, grants["app"])
        report["refusals"] = raw_at([
            ["http://%s/v2/credentials/%s" % (RELAY, "A" * 43), {}],  # no grant
            ["http://%s%s" % (RELAY, grants["app"]), {}],  # another container's grant
            ["http://%s/credentials" % RELAY, {}], ["http://%s/grants" % RELAY, {}],
            [direct, {}],  # the host listener directly, without the secret
            [direct, {"X-Runas-Meta-Relay-Secret": secret, "X-Runas-Meta-Relay-Client": "169.254.170.10"}],
            ["http://%s%s" % (RELAY, grants["other"]), {}]], "169.254.170.12")
        from_relay = docker("exec", "relay", sys.executable, "-c", RAW, json.dumps([[direct, {}], [
            direct, {"X-Runas-Meta-Relay-Secret": "wrong", "X-Runas-Meta-Relay-Client": "169.254.170.10"}]]),
            check=False)
        report["from_relay_address"] = last_json(from_relay, lambda r: [["error", r.stderr[-400:]]])
        report["revoke_exit"] = grant_cli(env, port, "--revoke", "other")[0]
        report["after_revoke"] = raw_at([["http://%s%s" % (RELAY, grants["other"]), {}]], "169.254.170.12")
        report["relay_log"] = docker("logs", "relay", check=False).stderr
        docker("kill", "relay", check=False)
        report["relay_killed"] = raw_at([["http://%s%s" % (RELAY, grants["app"]), {}]], "169.254.170.10")
        report["botocore_after_kill"] = botocore_at(grants["app"], "169.254.170.10")
        report["sts_calls"] = len(sts.calls)
    finally:
        report["sigterm_exit"] = service.stop(signal.SIGTERM)
    report["log"] = service.stderr


def main():
    if not enter_fresh_namespaces():
        return 3
    python = python_for_nobody()
    sts = t.FakeSTS()
    home, env = nobody_home(sts.url, "runas-meta-relay-")
    env = {"PATH": env["PATH"], "HOME": home, "AWS_CONFIG_FILE": env["AWS_CONFIG_FILE"],
           "AWS_SHARED_CREDENTIALS_FILE": env["AWS_SHARED_CREDENTIALS_FILE"], "AWS_ENDPOINT_URL_STS": sts.url}
    report = {"python": python}
    try:
        with_dockerd(report, lambda: scenario(env, home, sts, report))
    finally:
        sts.close()
        subprocess.run(["rm", "-rf", home])
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
