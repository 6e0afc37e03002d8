"""Benchmark scenario (7): IAM Identity Center role discovery with many
accounts, against the project's fake portal (e2e/fake_sso.py) on 127.0.0.1.

- parallel: runas-meta's discovery as it ships (DISCOVERY_WORKERS at once);
- serial: the same code with one worker, measured in the same run (the
  baseline: what the page did before, one portal call at a time);
- throttled: the portal allows `rate` calls a second and answers 429 with
  Retry-After beyond it; the floor is calls / rate;
- restart: a new IdentityCenter over the same home: time until the full
  list is answered, and the portal calls made before it (goal: none).

Standard library only; the fake portal runs in this process."""

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import runas_meta as rm  # noqa: E402
from e2e.fake_sso import FakeSSO  # noqa: E402

START = "https://d-1234567890.awsapps.com/start"
CONFIG = """\
[profile direct]
sso_session = corp
sso_account_id = 100000000000
sso_role_name = Admin

[sso-session corp]
sso_start_url = %s
sso_region = us-east-1
""" % START


class Portal:
    """A temporary home signed in to the fake portal with `accounts` accounts of two roles each."""

    def __init__(self, accounts, latency):
        self.home = tempfile.mkdtemp(prefix="runas-meta-bench-sso-")
        self.fake = FakeSSO(assignments={"%012d" % (100000000000 + n): {"name": "team-%04d" % n,
                                                                         "roles": ["Admin", "ReadOnly"]}
                                         for n in range(accounts)})
        self.fake.latency = latency
        os.makedirs(os.path.join(self.home, ".aws", "sso", "cache"))
        with open(os.path.join(self.home, ".aws", "config"), "w") as out:
            out.write(CONFIG)
        issued = self.fake.add_token(lifetime=4 * 3600)
        token = {"startUrl": START, "region": "us-east-1", "accessToken": issued["accessToken"],
                 "expiresAt": rm.format_time(rm.utcnow() + rm.dt.timedelta(hours=4))}
        name = hashlib.sha1(b"corp").hexdigest() + ".json"
        with open(os.path.join(self.home, ".aws", "sso", "cache", name), "w") as out:
            json.dump(token, out)
        self.environ = {"HOME": self.home, "AWS_CONFIG_FILE": os.path.join(self.home, ".aws", "config"),
                        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.home, ".aws", "credentials"),
                        "AWS_ENDPOINT_URL_SSO": self.fake.url, "AWS_ENDPOINT_URL_SSO_OIDC": self.fake.url}

    def profile(self):
        return rm.Config(environ=self.environ, check_interval=0).load().profile("direct")

    def center(self, workers=rm.DISCOVERY_WORKERS):
        center = rm.IdentityCenter(self.environ)
        center.roles.discovery_workers = workers
        return center

    def portal_calls(self):
        return sum(1 for r in self.fake.requests if r["path"].startswith("/assignment/"))

    def close(self):
        self.fake.close()
        shutil.rmtree(self.home, ignore_errors=True)


def timed_list(portal, workers, fresh=True):
    """Seconds to the full list, the roles, the portal calls it made, the 429s it met."""
    if fresh:
        shutil.rmtree(os.path.join(portal.home, ".aws", "runas-meta"), ignore_errors=True)
    center, profile = portal.center(workers), portal.profile()
    before, refused = portal.portal_calls(), portal.fake.refused
    started = time.perf_counter()
    roles = center.roles.list_roles(profile)
    seconds = time.perf_counter() - started
    view = center.roles.discovery_view(profile)
    if view["state"] != "done":
        raise RuntimeError("discovery ended in %s: %s" % (view["state"], view["message"]))
    return {"seconds": round(seconds, 3), "roles": len(roles), "portal_calls": portal.portal_calls() - before,
            "throttled": portal.fake.refused - refused}


def run(quick):
    accounts, latency, rate = (40, 0.02, 20) if quick else (1000, 0.1, 20)
    report = {"accounts": accounts, "latency_ms": latency * 1000, "workers": rm.DISCOVERY_WORKERS}
    portal = Portal(accounts, latency)
    try:
        report["serial"] = timed_list(portal, 1)
        report["parallel"] = timed_list(portal, rm.DISCOVERY_WORKERS)
        report["speedup"] = round(report["serial"]["seconds"] / report["parallel"]["seconds"], 2)
        # a restart: the list from disk, answered at once, no portal call before it
        center, profile = portal.center(), portal.profile()
        before = portal.portal_calls()
        started = time.perf_counter()
        roles = center.roles.list_roles(profile, wait=False)
        report["restart"] = {"seconds": round(time.perf_counter() - started, 4), "roles": len(roles),
                             "portal_calls_before": portal.portal_calls() - before}
        portal.fake.rate = rate
        throttled = timed_list(portal, rm.DISCOVERY_WORKERS)
        throttled["rate_per_s"] = rate
        needed = accounts + -(-accounts // rm.SSO_PAGE_SIZE)  # ListAccountRoles each, ListAccounts pages
        throttled["floor_s"] = round(needed / rate, 2)
        throttled["of_floor"] = round(throttled["seconds"] / throttled["floor_s"], 2)
        report["throttled"] = throttled
        return report
    finally:
        portal.close()


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
