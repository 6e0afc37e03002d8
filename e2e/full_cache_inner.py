"""A full, then read-only, IAM Identity Center cache: run inside a private
mount namespace ONLY.

test_hardening_root.py starts this file as
`unshare -m --propagation private python3 e2e/full_cache_inner.py`; the
small tmpfs it mounts on the temporary home's ~/.aws/sso/cache exists in that
namespace alone and goes with it.  The token in the cache is due for a
refresh; the disk is full when runas-meta refreshes it.  One JSON report on
stdout; the outer test asserts on it."""

import errno
import json
import os
import subprocess
import sys
import tempfile
import urllib.error

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)

import test_runas_meta as t  # noqa: E402
from e2e.fake_sso import FakeSSO  # noqa: E402
from e2e.test_sso_engine import SSO_CONFIG, START, sha1  # noqa: E402


def own_mount_namespace():
    """The outer test passes its own namespace: ours must be another."""
    parent = os.environ.get("RUNAS_META_PARENT_MNT_NS")
    return bool(parent) and os.readlink("/proc/self/ns/mnt") != parent


def fill(folder):
    """Write until the file system says ENOSPC."""
    with open(os.path.join(folder, "filler"), "wb", buffering=0) as handle:  # nothing left to flush at close
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc


def status_of(service, method, path):
    request = t.urllib.request.Request(service.url + path, method=method, data=b"" if method == "POST" else None)
    try:
        with t.urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def main():
    if os.geteuid() != 0 or not own_mount_namespace():
        print(json.dumps({"refused": "not root inside a private mount namespace (unshare -m)"}))
        return 3
    home = tempfile.mkdtemp(prefix="runas-meta-fullcache-")
    cache = os.path.join(home, ".aws", "sso", "cache")
    os.makedirs(cache)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", cache], check=True)
    fake, sts = FakeSSO(), t.FakeSTS()  # loopback only: the identity line asks our STS
    env = dict(os.environ, HOME=home, AWS_CONFIG_FILE=os.path.join(home, ".aws", "config"),
               AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, ".aws", "credentials"),
               AWS_ENDPOINT_URL_SSO=fake.url, AWS_ENDPOINT_URL_SSO_OIDC=fake.url, AWS_ENDPOINT_URL_STS=sts.url)
    t.write(env["AWS_CONFIG_FILE"], SSO_CONFIG % {"start": START, "role": t.ROLE, "role2": t.ROLE2,
                                                   "python": sys.executable, "script": "/bin/false"})
    t.write(env["AWS_SHARED_CREDENTIALS_FILE"], "")
    issued = fake.add_token(lifetime=600, with_refresh=True)  # inside the 15-minute refresh window
    token_path = os.path.join(cache, sha1("corp") + ".json")
    t.write(token_path, json.dumps({
        "startUrl": START, "region": "us-east-1", "accessToken": issued["accessToken"],
        "expiresAt": t.rm.format_time(t.rm.utcnow() + t.dt.timedelta(seconds=600)),
        "refreshToken": issued["refreshToken"], "clientId": issued["clientId"],
        "clientSecret": issued["clientSecret"],
        "registrationExpiresAt": t.rm.format_time(t.rm.utcnow() + t.dt.timedelta(days=80))}))
    fill(cache)
    report = {}
    service = t.ServiceProcess(["ecs", "-p", "0", "modern"], env)  # starts, and refreshes on a full disk
    try:
        with open(token_path) as handle:
            report["file_after_refresh"] = json.load(handle)["accessToken"]
        report["old_access"], report["old_refresh"] = issued["accessToken"], issued["refreshToken"]
        report["credentials"] = status_of(service, "GET", "/credentials")[0]
        report["bearers"] = sorted({c["headers"].get("x-amz-sso_bearer_token") for c in
                                    fake.calls("/federation/credentials")})
        report["token_calls"] = len(fake.calls("/token"))
        os.unlink(os.path.join(cache, "filler"))  # room again: the next use writes the kept token
        report["status"] = status_of(service, "GET", "/status")[0]
        with open(token_path) as handle:
            written = json.load(handle)
        report["written_access"], report["written_refresh"] = written["accessToken"], written["refreshToken"]
        report["written_refresh_alive"] = written["refreshToken"] in fake.refresh_tokens and \
            not fake.refresh_tokens[written["refreshToken"]]["dead"]
        report["mode"] = oct(os.stat(token_path).st_mode & 0o777)
        subprocess.run(["mount", "-o", "remount,ro", cache], check=True)  # read-only: a new sign-in
        report["device_on_read_only"] = status_of(service, "POST", "/sso/device?profile=legacy")
        report["login_on_read_only"] = status_of(service, "POST", "/sso/login?profile=onsso")
        report["still_serving"] = status_of(service, "GET", "/credentials")[0]
    finally:
        report["exit"] = service.stop()
        report["log"] = service.stderr
        fake.close()
        sts.close()
        subprocess.run(["umount", cache])
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
