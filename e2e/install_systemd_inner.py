"""`install` with a real `systemd --user`, inside the private mount and
network namespaces e2e/test_install_systemd.py creates: /run is a tmpfs of
our own (so the user manager believes systemd is booted), the cgroups it runs
in are made here and removed at the end, the fake STS and the service talk
over this namespace's loopback only.  Prints one JSON report."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import test_runas_meta as t  # noqa: E402  (its FakeSTS)
from e2e._netns import stop_process, wait_until  # noqa: E402

SCRIPT = os.path.join(ROOT, "runas_meta.py")
GROUP = "runas-meta-install-test-%d" % os.getpid()


def cgroup_roots():
    hybrid = [p for p in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd") if os.path.isdir(p)]
    return hybrid or ["/sys/fs/cgroup"]


def enter_cgroups():
    for root in cgroup_roots():
        os.makedirs(os.path.join(root, GROUP), exist_ok=True)
        with open(os.path.join(root, GROUP, "cgroup.procs"), "w") as handle:
            handle.write(str(os.getpid()))


def leave_cgroups():
    for root in cgroup_roots():
        with open(os.path.join(root, "cgroup.procs"), "w") as handle:
            handle.write(str(os.getpid()))
        for folder, _, _ in sorted(os.walk(os.path.join(root, GROUP)), key=lambda entry: -len(entry[0])):
            try:
                os.rmdir(folder)
            except OSError:
                pass


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:
        return None, None


def main():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
    os.makedirs("/run/systemd/system")
    os.makedirs("/run/user/0")
    home = tempfile.mkdtemp(prefix="runas-meta-install-")
    sts = t.FakeSTS()
    t.write(os.path.join(home, ".aws", "config"), "[profile base]\nregion = eu-west-1\n\n[profile dev]\n"
            "role_arn = %s\nsource_profile = base\n" % t.ROLE)
    t.write(os.path.join(home, ".aws", "credentials"), "[base]\naws_access_key_id = AKIABASEEXAMPLE\n"
            "aws_secret_access_key = %s\n" % t.BASE_SECRET)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "XDG_RUNTIME_DIR": "/run/user/0",
           "XDG_CONFIG_HOME": os.path.join(home, ".config"), "AWS_ENDPOINT_URL_STS": sts.url,
           "AWS_CONFIG_FILE": os.path.join(home, ".aws", "config"), "LANG": "C.UTF-8"}
    port = 12455  # this namespace has its own loopback: no other listener
    url = "http://127.0.0.1:%d/credentials" % port
    report = {}
    enter_cgroups()
    manager = subprocess.Popen(["/lib/systemd/systemd", "--user", "--log-level=warning"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ctl(*args):
        return subprocess.run(["systemctl", "--user"] + list(args), env=env, capture_output=True, text=True)
    try:
        report["manager_up"] = wait_until(lambda: ctl("is-system-running").stdout.strip() in ("running", "degraded"),
                                          30)
        done = subprocess.run([sys.executable, SCRIPT, "install", "ecs", "dev", "-p", str(port)], env=env,
                              capture_output=True, text=True)
        report["install"] = {"code": done.returncode, "out": done.stdout, "err": done.stderr}
        unit = os.path.join(home, ".config", "systemd", "user", "runas-meta-ecs.service")
        report["unit"] = open(unit).read() if os.path.exists(unit) else None
        report["served"] = wait_until(lambda: get(url)[0] == 200, 30)
        first = get(url)[1] or {}
        report["first_key"] = first.get("AccessKeyId")
        pid = int(ctl("show", "-p", "MainPID", "--value", "runas-meta-ecs.service").stdout.strip() or 0)
        report["pid"] = pid
        os.kill(pid, signal.SIGKILL)
        report["restarted"] = wait_until(lambda: int(ctl("show", "-p", "MainPID", "--value",
                                                         "runas-meta-ecs.service").stdout.strip() or 0) not in (0, pid)
                                         and get(url)[0] == 200, 60)
        report["n_restarts"] = ctl("show", "-p", "NRestarts", "--value", "runas-meta-ecs.service").stdout.strip()
        report["after_restart_key"] = (get(url)[1] or {}).get("AccessKeyId")
        report["sts_calls"] = len(sts.calls)
        done = subprocess.run([sys.executable, SCRIPT, "uninstall"], env=env, capture_output=True, text=True)
        report["uninstall"] = {"code": done.returncode, "out": done.stdout, "err": done.stderr}
        report["stopped"] = wait_until(lambda: get(url)[0] is None, 30)
        report["unit_after"] = os.path.exists(unit)
        report["is_enabled_after"] = ctl("is-enabled", "runas-meta-ecs.service").stdout.strip()
    finally:
        stop_process(manager, 20)
        sts.close()
        leave_cgroups()
        subprocess.run(["rm", "-rf", home])
    report["cgroups_left"] = [root for root in cgroup_roots() if os.path.exists(os.path.join(root, GROUP))]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
