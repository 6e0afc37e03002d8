"""Hardening round 3 with real namespaces: run inside `unshare -n -m` ONLY.

test_hardening3_root.py starts this file as
`unshare -n -m --propagation private python3 e2e/hardening3_netns_inner.py`.
It builds the containers suite's bridge and containers (docker0's shape),
runs the real service as root dropping to `nobody` (ecs --containers), and
tries what a container could do to it:

- bind its TCP source port to a port where root (0.0.0.0) and the user
  ([::]) listen on the host, and ask for every profile, the grants and the
  page (sock_diag falls back to a listener when no connection matches);
- use another container's grant (bound to the container that used it first);
- hold 1,100 idle connections to 169.254.170.2:80 while another container
  asks for its grant and the host's own client asks too;
- fill the disk of the grants file (a small tmpfs) before a revocation, then
  make it read-only, each followed by a restart of the service.

Everything lives on only the HTTP interface and the command line, so the
same scenario runs against an older runas_meta.py (RUNAS_META_SCRIPT) to
show what it did.  It prints one JSON report; everything it made goes with
the namespaces when it exits."""

import json
import os
import pwd
import re
import resource
import shutil
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)

import test_runas_meta as t  # noqa: E402
from e2e._netns import only_loopback_here  # noqa: E402
from e2e.containers_netns_inner import ADDRESS, Topology, nobody_home, raw, sh  # noqa: E402

SCRIPT = os.environ.get("RUNAS_META_SCRIPT") or os.path.join(HERE, "runas_meta.py")
ROOT_PORT, USER_PORT = 2222, 3333


HOLDER = r"""
import resource, select, socket, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
held = [socket.create_connection((%r, 80), timeout=10) for _ in range(%d)]
poll = select.poll()
for s in held:
    poll.register(s, select.POLLIN)
by_fd, refused = {s.fileno(): s for s in held}, 0
while True:  # a refused one is answered at once with a 503 and closed; until a second passes with none
    events = poll.poll(1000)
    if not events:
        break
    for fd, _ in events:
        poll.unregister(fd)
        refused += by_fd[fd].recv(64).startswith(b"HTTP/1.1 503")
print(len(held), refused, flush=True)
sys.stdin.read()  # hold the rest until told
"""


def hold_connections(ns, count):
    """A process in `ns` holding `count` idle connections: (process, held, refused)."""
    proc = subprocess.Popen(["nsenter", "--net=/proc/%d/ns/net" % ns, sys.executable, "-c", HOLDER % (ADDRESS, count)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    held, refused = (int(x) for x in proc.stdout.readline().split())
    return proc, held, refused


def listen_as(uid, family, port):
    """A process of `uid` listening on the wildcard address at `port`."""
    code = ("import os, socket, sys\n"
            "os.setgroups([]); os.setgid(%d); os.setuid(%d)\n"
            "s = socket.socket(%d)\n"
            "s.bind(('::' if %d == socket.AF_INET6 else '0.0.0.0', %d))\n"
            "s.listen()\n"
            "print('listening', flush=True)\n"
            "sys.stdin.read()\n") % (uid, uid, family, family, port)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "listening"
    return proc


def _start(env):
    """The service from SCRIPT (this tree's, or an older one's)."""
    return t.ServiceProcess(["ecs", "--containers", "-p", "0", "nomfa"], env, script=SCRIPT)


def grant(env, port, label):
    code, out, err = grant_cli_from(env, port, "nomfa", "--label", label)
    return re.search(r"^AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=(\S+)$", out, re.M).group(1)


def grant_cli_from(env, port, *args):
    result = subprocess.run([sys.executable, SCRIPT, "grant", "-p", str(port)] + list(args),
                            env=env, capture_output=True, text=True, timeout=30)
    return result.returncode, result.stdout, result.stderr


def fill(folder):
    """Fill the file system of `folder` (a tmpfs) to the last byte."""
    handle = os.open(os.path.join(folder, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(handle, b"\0" * 512):
            pass
    except OSError:
        pass
    finally:
        os.close(handle)
    return shutil.disk_usage(folder).free


def source_port_scenario(net, port, report):
    """Point 1: no grant, a source port where root and the user listen."""
    nobody = pwd.getpwnam("nobody").pw_uid
    root_listener = socket.socket()
    root_listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    root_listener.bind(("0.0.0.0", ROOT_PORT))
    root_listener.listen()
    user_listener = listen_as(nobody, socket.AF_INET6, USER_PORT)
    try:
        paths = ("/credentials/nomfa", "/grants", "/", "/status")
        for name, source in (("root", ROOT_PORT), ("user", USER_PORT)):
            report["source_port_" + name] = {  # with the Host of the user's own listener, as a local process
                path: raw(path, net.c2, host="127.0.0.1:%d" % port, source_port=source)[0] for path in paths}
            report["source_port_%s_ecs_host" % name] = raw(
                "/credentials/nomfa", net.c2, host=ADDRESS, source_port=source)[0]
    finally:
        root_listener.close()
        user_listener.kill()
        user_listener.wait()


def main():
    if not only_loopback_here() or os.geteuid() != 0:
        print(json.dumps({"refused": "not root inside a fresh network namespace (unshare -n -m)"}))
        return 3
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    sts = t.FakeSTS()
    home, env = nobody_home(sts.url, "runas-meta-hardening3-")
    nobody = pwd.getpwnam("nobody")
    grants_dir = os.path.join(home, "runas-meta")
    os.mkdir(grants_dir)
    sh("mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", grants_dir)
    os.chown(grants_dir, nobody.pw_uid, nobody.pw_gid)
    spare = env["TMPDIR"] = os.path.join(home, "tmp")  # the service's temporary directory: spare revocations
    os.mkdir(spare)
    os.chown(spare, nobody.pw_uid, nobody.pw_gid)
    net = Topology()
    report = {"script": os.path.relpath(SCRIPT, HERE)}
    try:
        running = _start(env)
        port = running.port
        source_port_scenario(net, port, report)

        web, db = grant(env, port, "web"), grant(env, port, "db")
        report["c1_web"] = raw(web, net.c1)[0]
        report["c2_web"] = raw(web, net.c2)  # another container with the id c1 used first
        report["c2_db"] = raw(db, net.c2)[0]

        # 1,100 idle connections from c2; c1 asks for its grant, the host for its credentials
        holder, held, refused = hold_connections(net.c2, 1100)
        report["flood"] = {"held": held, "refused_at_once": refused, "c1_web": raw(web, net.c1)[0]}
        try:
            report["flood"]["host"] = 200 if running.get("/credentials")["AccessKeyId"] else 0
        except Exception as exc:  # the old code: no slot left for the host either
            report["flood"]["host"] = type(exc).__name__
        holder.stdin.close()
        holder.kill()
        holder.wait()

        # a revocation on a full disk, then a restart
        report["free_after_fill"] = fill(grants_dir)
        code, out, err = grant_cli_from(env, port, "--revoke", "web")
        report["revoke_full"] = {"exit": code, "out": out.strip(), "err": err.strip()}
        report["web_after_revoke"] = raw(web, net.c1)[0]
        running.stop()
        report["log"] = running.stderr
        running = _start(env)
        port = running.port
        report["web_after_restart"] = raw(web, net.c1)[0]
        report["db_after_restart"] = raw(db, net.c2)[0]

        # a revocation on a read-only disk: not kept, said so; a restart still refuses it
        sh("mount", "-o", "remount,ro", grants_dir)
        code, out, err = grant_cli_from(env, port, "--revoke", "db")
        report["revoke_read_only"] = {"exit": code, "out": out.strip(), "err": err.strip()}
        running.stop()
        report["log"] += running.stderr
        running = _start(env)
        port = running.port
        report["db_after_read_only_restart"] = raw(db, net.c2)[0]
        sh("mount", "-o", "remount,rw", grants_dir)
        os.unlink(os.path.join(grants_dir, "filler"))
        running.stop()  # its last retry writes the revocation
        report["log"] += running.stderr
        with open(os.path.join(grants_dir, "grants.json")) as handle:
            report["grants_file_labels"] = [g["label"] for g in json.load(handle)["grants"]]
        report["spare_files"] = [name for _, _, names in os.walk(spare) for name in names]
        report["ids_in_log"] = [u for u in (web, db) if u.rsplit("/", 1)[1] in report["log"]]
    finally:
        net.close()
        sts.close()
        subprocess.run(["umount", grants_dir], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
