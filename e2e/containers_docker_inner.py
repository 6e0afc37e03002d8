"""`ecs --containers` with real docker, run inside private network, mount and
PID namespaces ONLY.

test_containers_docker.py starts this file as
`unshare -n -m -p --fork --mount-proc --propagation private python3 e2e/containers_docker_inner.py`.
It starts Debian's dockerd with data and exec roots on a tmpfs of its own
(vfs storage; no registry is reachable, so the image is `docker import` of
an empty root filesystem, and /usr and Python's prefix are bind-mounted
read-only into each container).  Then it runs the real service as root
dropping to `nobody`, and botocore and the AWS CLI in containers on the
default bridge and on a user-defined network (as compose makes one), and
prints one JSON report.  dockerd, containerd and every container are in
this PID namespace, so they end when this process (its PID 1) exits; the
cgroups docker made are removed before that."""

import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)

import test_runas_meta as t  # noqa: E402
from e2e._netns import only_loopback_here, stop_process, wait_until  # noqa: E402
from e2e.containers_netns_inner import (BOTOCORE, address_on_lo, grant_cli, nobody_home, sh,  # noqa: E402
                                         urllib_request)

STATE = "/run/runas-meta-docker"  # on a tmpfs mounted over /run in this mount namespace only
SOCKET = "unix://%s/docker.sock" % STATE
IMAGE = "runas-meta/empty:1"
NETWORK = "rmxnet"
CGROUPS = "/sys/fs/cgroup"

# Several requests from inside a container: [status, code] each.
RAW = ("import json, sys, urllib.request, urllib.error\n"
       "out = []\n"
       "for path, host in json.loads(sys.argv[1]):\n"
       "    request = urllib.request.Request('http://169.254.170.2' + path, headers={'Host': host})\n"
       "    try:\n"
       "        with urllib.request.urlopen(request, timeout=5) as response:\n"
       "            out.append([response.status, json.loads(response.read()).get('code')])\n"
       "    except urllib.error.HTTPError as error:\n"
       "        out.append([error.code, json.loads(error.read()).get('code')])\n"
       "print(json.dumps(out))\n")


def private_run_and_sysfs():
    """A tmpfs over /run (dockerd's and containerd's state go there, not on
    the host) and this namespace's interfaces under /sys/class/net, which the
    service reads for the bridges.  Remounting all of /sys would hide the
    cgroup mounts dockerd needs, so only the two network folders are
    replaced, from a sysfs mounted in this network namespace."""
    sh("mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", "/run")
    os.makedirs(STATE + "/sysfs")
    sh("mount", "-t", "sysfs", "sysfs", STATE + "/sysfs")
    for folder in ("class/net", "devices/virtual/net"):
        sh("mount", "--bind", os.path.join(STATE, "sysfs", folder), os.path.join("/sys", folder))
    sh("umount", "-l", STATE + "/sysfs")
    if os.path.isdir("/etc/docker"):  # the daemon's key.json goes here, not on the host
        sh("mount", "-t", "tmpfs", "tmpfs", "/etc/docker")


def docker(*args, check=True, timeout=120):
    return subprocess.run(["docker", "-H", SOCKET] + list(args), capture_output=True, text=True,
                          check=check, timeout=timeout)


def start_dockerd():
    log = open(STATE + "/dockerd.log", "w")
    proc = subprocess.Popen(["dockerd", "--data-root", STATE + "/data", "--exec-root", STATE + "/exec",
                             "-H", SOCKET, "--pidfile", STATE + "/docker.pid", "--storage-driver", "vfs"],
                            stdout=log, stderr=subprocess.STDOUT)
    ready = wait_until(lambda: proc.poll() is not None or docker("version", check=False).returncode == 0, 90)
    if not ready or proc.poll() is not None:
        proc.kill()
        with open(log.name) as handle:
            raise SystemExit(json.dumps({"dockerd": "did not start", "exit": proc.poll(),
                                         "log": handle.read()[-3000:]}))
    return proc


def stop_dockerd(proc):
    for name in docker("ps", "-aq", check=False).stdout.split():
        docker("rm", "-f", name, check=False)
    stop_process(proc)


def docker_cgroups():
    """The cgroup folders docker makes (cgroupfs driver): /sys/fs/cgroup/*/docker."""
    try:
        return {os.path.join(CGROUPS, h, "docker") for h in os.listdir(CGROUPS)
                if os.path.isdir(os.path.join(CGROUPS, h, "docker"))}
    except OSError:
        return set()


def remove_cgroups(folders):
    for folder in folders:
        for root, _, _ in sorted(os.walk(folder), key=lambda walk: -walk[0].count("/")):
            try:
                os.rmdir(root)
            except OSError:
                pass


def import_empty_image():
    """An image with folders and the merged-/usr links, nothing else."""
    rootfs = os.path.join(STATE, "rootfs")
    for folder in ("usr", "etc", "tmp", "root", "proc", "sys", "dev", "run", "var"):
        os.makedirs(os.path.join(rootfs, folder))
    for link in ("bin", "lib", "lib64", "sbin"):
        os.symlink("usr/" + link, os.path.join(rootfs, link))
    sh("tar", "-C", rootfs, "-cf", rootfs + ".tar", ".")
    docker("import", rootfs + ".tar", IMAGE)


def python_mounts():
    """/usr and whatever outside it this Python and botocore live in, read-only."""
    import botocore
    tops = {"/usr", os.path.realpath(sys.prefix), os.path.dirname(os.path.dirname(os.path.realpath(botocore.__file__)))}
    tops = {top for top in tops if not any(top != other and top.startswith(other + "/") for other in tops)}
    return [arg for top in sorted(tops) for arg in ("-v", "%s:%s:ro" % (top, top))]


def in_container(variables, argv, network="bridge", cidfile=None):
    """`docker run` the empty image with /usr and Python mounted, only
    `variables` set (and what bounds botocore's fallback to IMDS)."""
    args = ["run", "--rm", "--network", network] + python_mounts()
    if cidfile:
        args += ["--cidfile", cidfile]
    for name, value in dict({"AWS_DEFAULT_REGION": "eu-west-1", "AWS_METADATA_SERVICE_TIMEOUT": "2",
                             "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "1"}, **variables).items():
        args += ["-e", "%s=%s" % (name, value)]
    return docker(*(args + [IMAGE] + argv), check=False)


def botocore_in(variables, network="bridge", cidfile=None):
    result = in_container(variables, [sys.executable, "-c", BOTOCORE], network, cidfile)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "error": result.stderr[-400:]}


def aws_cli_in(variables, network="bridge"):
    """`aws configure list`: where the CLI found credentials and the key's last four characters."""
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    result = in_container(variables, [aws, "configure", "list"], network)
    line = next((l for l in result.stdout.splitlines() if l.strip().startswith("access_key")), "")
    return {"exit": result.returncode, "access_key_line": line.split(), "stderr": result.stderr[-400:]}


def raw_in(requests, network="bridge"):
    result = in_container({}, [sys.executable, "-c", RAW, json.dumps(requests)], network)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [["error", result.stderr[-400:]]]


def relative_uri(grant_output):
    return re.search(r"^AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=(\S+)$", grant_output, re.M).group(1)


def scenario(env, home, report):
    """Everything after dockerd is up and the image is in."""
    docker("network", "create", NETWORK)  # what compose makes: a bridge br-<id> of its own
    inspect = json.loads(docker("network", "inspect", NETWORK).stdout)[0]
    report["network"] = {"subnet": inspect["IPAM"]["Config"][0]["Subnet"], "bridge": "br-" + inspect["Id"][:12]}
    service = t.ServiceProcess(["ecs", "--containers", "-p", "0", "nomfa"], env)
    try:
        report["added"] = address_on_lo()
        port = service.port
        web = relative_uri(grant_cli(env, port, "nomfa", "--label", "web")[1])
        api = relative_uri(grant_cli(env, port, "nomfa", "--label", "api")[1])
        report["host_key"] = service.get("/credentials")["AccessKeyId"]
        cidfile = os.path.join(home, "web.cid")
        report["bridge_botocore"] = botocore_in({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": web}, cidfile=cidfile)
        with open(cidfile) as handle:
            report["bridge_container_id"] = handle.read().strip()[:12]
        report["bridge_cli"] = aws_cli_in({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": web})
        report["network_botocore"] = botocore_in({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": api}, NETWORK)
        report["network_cli"] = aws_cli_in({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": api}, NETWORK)
        report["no_grant_botocore"] = botocore_in({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI":
                                                   "/v2/credentials/" + "A" * 43})
        report["bridge_elsewhere"] = raw_in([["/v2/credentials/" + "A" * 43, "169.254.170.2"],
                                             ["/credentials", "169.254.170.2"], ["/credentials/nomfa", "169.254.170.2"],
                                             ["/grants", "169.254.170.2"], [web, "127.0.0.1:%d" % port],
                                             [web, "localhost"], ["/healthcheck", "169.254.170.2"]])
        report["host_network_botocore"] = botocore_in(
            {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:%d/credentials" % port}, "host")
        report["list"] = grant_cli(env, port, "--list")[1]
        urllib_request("POST", "http://127.0.0.1:%d/refresh" % port)
        report["renewed_key"] = service.get("/credentials")["AccessKeyId"]
        report["network_after_renewal"] = botocore_in({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": api}, NETWORK)
        report["revoke_exit"] = grant_cli(env, port, "--revoke", "api")[0]
        report["network_after_revoke"] = raw_in([[api, "169.254.170.2"]], NETWORK)
        report["grant_ids"] = [web.rsplit("/", 1)[1], api.rsplit("/", 1)[1]]
    finally:
        report["sigterm_exit"] = service.stop(signal.SIGTERM)
    report["log"] = service.stderr
    report["after_sigterm"] = address_on_lo()


def enter_fresh_namespaces():
    """Only as root and PID 1 of fresh namespaces (unshare -n -m -p --fork):
    loopback up, /run and the network's sysfs folders of our own.  False
    (said on stdout) anywhere else."""
    if not only_loopback_here() or os.geteuid() != 0 or os.getpid() != 1:
        print(json.dumps({"refused": "not root as PID 1 of fresh namespaces (unshare -n -m -p --fork)"}))
        return False
    sh("ip", "link", "set", "lo", "up")
    private_run_and_sysfs()
    return True


def main():
    if not enter_fresh_namespaces():
        return 3
    sts = t.FakeSTS()
    home, env = nobody_home(sts.url, "runas-meta-docker-")
    report = {"before": address_on_lo()}
    try:
        with_dockerd(report, lambda: scenario(env, home, report))
    finally:
        sts.close()
        subprocess.run(["rm", "-rf", home])
    print(json.dumps(report))
    return 0


def with_dockerd(report, run):
    """Start dockerd, import the image, `run()`; then, whatever happened,
    stop dockerd and its containers and remove the cgroups it made."""
    cgroups_before = docker_cgroups()
    started = time.monotonic()
    dockerd = start_dockerd()
    try:
        report["dockerd_start_s"] = round(time.monotonic() - started, 2)
        report["versions"] = docker("version", "--format", "{{.Client.Version}} {{.Server.Version}}").stdout.strip()
        import_empty_image()
        run()
    finally:
        stop_dockerd(dockerd)
        remove_cgroups(docker_cgroups() - cgroups_before)


if __name__ == "__main__":
    sys.exit(main())
