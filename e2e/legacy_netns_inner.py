"""Legacy mode, run inside a private network namespace ONLY.

test_legacy_netns.py starts this file as `unshare -n python3 e2e/legacy_netns_inner.py`.
It refuses to run anywhere else: on a cloud machine the metadata address
(runas_meta.LEGACY_ADDRESS) is the real instance metadata service.  It prints
one JSON report on stdout; the outer test asserts on it."""

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
import urllib.request

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)

import runas_meta as rm  # noqa: E402
import test_runas_meta as t  # noqa: E402
from e2e._netns import only_loopback_here, wait_until  # noqa: E402

ADDRESS = rm.LEGACY_ADDRESS  # only ever used inside this namespace


def address_on_lo():
    out = subprocess.run(["ip", "-o", "addr", "show", "dev", "lo"], capture_output=True, text=True).stdout
    return (" %s/32 " % ADDRESS) in out


def ids_of(pid):
    with open("/proc/%d/status" % pid) as handle:
        status = handle.read()
    uids = [int(x) for x in re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()]
    gids = [int(x) for x in re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()]
    groups = [int(x) for x in re.search(r"^Groups:\s*(.*)$", status, re.M).group(1).split()]
    return uids, gids, groups


class Setup:
    def __init__(self):
        self.nobody = pwd.getpwnam("nobody")
        self.sts = t.FakeSTS()
        self.home = tempfile.mkdtemp(prefix="runas-meta-legacy-")
        os.chmod(self.home, 0o755)
        self.config = os.path.join(self.home, "config")
        self.credentials = os.path.join(self.home, "credentials")
        t.write(self.config, t.STANDARD_CONFIG)
        t.write(self.credentials, t.STANDARD_CREDENTIALS)
        for path in (self.home, self.config, self.credentials):
            os.chown(path, self.nobody.pw_uid, self.nobody.pw_gid)
        os.chmod(self.credentials, 0o600)
        self.env = {"PATH": os.environ["PATH"], "HOME": "/root",  # as sudo leaves it
                    "SUDO_UID": str(self.nobody.pw_uid), "SUDO_GID": str(self.nobody.pw_gid),
                    "AWS_CONFIG_FILE": self.config, "AWS_SHARED_CREDENTIALS_FILE": self.credentials,
                    "AWS_ENDPOINT_URL_STS": self.sts.url}

    def start(self, *args):
        return t.ServiceProcess(["ec2"] + list(args), self.env)

    def close(self):
        self.sts.close()
        shutil.rmtree(self.home, ignore_errors=True)


def sniff_ttls(request):
    """TTLs of the IPv4 packets on lo from and to ADDRESS:80 while `request` runs."""
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    sniffer.bind(("lo", 0))
    sniffer.settimeout(0.5)
    request()
    served, sent = set(), set()
    try:
        while True:
            frame = sniffer.recv(65535)
            ip = frame[14:]
            if len(ip) < 24 or ip[0] >> 4 != 4 or ip[9] != 6:
                continue
            header = (ip[0] & 15) * 4
            src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
            sport, dport = int.from_bytes(ip[header:header + 2], "big"), int.from_bytes(ip[header + 2:header + 4], "big")
            if (src, sport) == (ADDRESS, 80):
                served.add(ip[8])
            elif (dst, dport) == (ADDRESS, 80):
                sent.add(ip[8])
    except socket.timeout:
        pass
    finally:
        sniffer.close()
    return sorted(served), sorted(sent)


def fetch(path, method="GET", headers=None):
    request = urllib.request.Request("http://%s%s" % (ADDRESS, path), method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read()


def botocore_default_chain(empty):
    from unittest import mock
    import botocore.session
    with mock.patch.dict(os.environ, {"PATH": os.environ["PATH"], "AWS_CONFIG_FILE": empty,
                                      "AWS_SHARED_CREDENTIALS_FILE": empty}, clear=True):
        creds = botocore.session.Session().get_credentials()
        frozen = creds.get_frozen_credentials()
        return creds.method, frozen.access_key


def not_root_refusal(nobody):
    """runas_meta.main as an unprivileged user, in a forked child that
    imported everything while it was root."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
        with os.fdopen(write_end, "w") as err:
            code = rm.main(["ec2", "nomfa"], environ={"PATH": "/usr/bin"}, stderr=err, stdout=err)
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as out:
        text = out.read()
    return os.waitpid(pid, 0)[1] >> 8, text


def main():
    if not only_loopback_here() or os.geteuid() != 0:
        print(json.dumps({"refused": "not root inside a fresh network namespace (unshare -n)"}))
        return 3
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    report = {"before": address_on_lo()}
    setup = Setup()
    empty = os.path.join(setup.home, "empty")
    t.write(empty, "")
    try:
        # 1. start, serve botocore with no endpoint variable, then SIGTERM
        service = setup.start("--imds-v2-only", "nomfa")
        report["started_output"] = service.output
        report["added"] = address_on_lo()
        report["ids"] = ids_of(service.proc.pid)
        report["nobody"] = [setup.nobody.pw_uid, setup.nobody.pw_gid]
        report["botocore"] = botocore_default_chain(empty)
        report["identities"] = setup.sts.identities
        report["ttls"] = sniff_ttls(lambda: fetch("/latest/api/token", "PUT",
                                                  {"X-aws-ec2-metadata-token-ttl-seconds": "60"}))
        report["page"] = fetch("/")[0]
        report["roles"] = json.loads(fetch("/list-roles")[1])
        report["ecs"] = sorted(json.loads(fetch("/credentials")[1]))
        report["cache_owner"] = os.stat(os.path.join(setup.home, ".aws_assume_role_nomfa")).st_uid
        report["sigterm_exit"] = service.stop(signal.SIGTERM)
        report["after_sigterm"] = address_on_lo()
        report["sigterm_log"] = service.stderr

        # 2. SIGKILL: the helper notices the service is gone
        service = setup.start("nomfa")
        report["added_again"] = address_on_lo()
        report["sigkill_exit"] = service.stop(signal.SIGKILL)
        report["after_sigkill"] = wait_until(lambda: not address_on_lo())

        # 3. an error at start-up, after the address was added
        result = subprocess.run([sys.executable, os.path.join(HERE, "runas_meta.py"), "ec2", "ghost"],
                                env=setup.env, capture_output=True, text=True, timeout=30)
        report["error_exit"], report["error_stderr"] = result.returncode, result.stderr
        report["after_error"] = address_on_lo()

        # 4. not root: one line, nothing touched
        report["notroot_exit"], report["notroot_stderr"] = not_root_refusal(setup.nobody)
        report["after_notroot"] = address_on_lo()
    finally:
        setup.close()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
