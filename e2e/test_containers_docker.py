"""`ecs --containers` with real docker: Debian's dockerd started by this test
inside private network, mount and PID namespaces (`unshare -n -m -p`, as
root), with its own data root on a tmpfs; botocore and the AWS CLI in
containers on the default bridge and on a user-defined network (as compose
makes) with only AWS_CONTAINER_CREDENTIALS_RELATIVE_URI set.  The scenario
runs in e2e/containers_docker_inner.py; this asserts on its report and that
the host is left as it was found."""

import glob
import os
import subprocess
import unittest

from e2e._netns import require_namespaces, run_inner
from e2e._peers import need, need_command


need("botocore")
need_command("aws")
require_namespaces("the docker tests", ["-n", "-m", "-p", "--fork"], ("unshare", "ip", "tar", "dockerd", "docker"))
UNSHARE = ["unshare", "-n", "-m", "-p", "--fork", "--mount-proc", "--propagation", "private"]


def host_state():
    """What the scenario must not change on the host."""
    return {"links": subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout,
            "addresses": subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout,
            "docker cgroups": sorted(glob.glob("/sys/fs/cgroup/*/docker")),
            "docker state": [p for p in ("/run/docker", "/run/containerd", "/var/lib/docker", "/etc/docker/key.json")
                             if os.path.exists(p)]}


class RealDocker(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.before = host_state()
        cls.report = run_inner(UNSHARE, "containers_docker_inner.py")
        cls.after = host_state()

    def lines_of_list(self):
        return {line.split("\t")[0]: line.split("\t") for line in self.report["list"].splitlines()}

    def test_a_container_on_the_default_bridge_gets_the_role(self):
        r = self.report
        self.assertEqual(r["bridge_botocore"], {"ok": True, "method": "container-role", "key": r["host_key"]})
        self.assertEqual(r["bridge_cli"]["exit"], 0, r["bridge_cli"]["stderr"])
        self.assertEqual(r["bridge_cli"]["access_key_line"][1:], ["*" * 16 + r["host_key"][-4:], "container-role"])
        web = self.lines_of_list()["web"]
        self.assertTrue(any(word.startswith("from 172.17.") for word in web), web)  # docker0's prefix
        self.assertIn("container " + r["bridge_container_id"], web)  # found from its cgroup

    def test_a_container_on_a_user_defined_network_gets_the_role(self):
        r = self.report
        self.assertNotEqual(r["network"]["subnet"], "172.17.0.0/16")
        self.assertEqual(r["network_botocore"], {"ok": True, "method": "container-role", "key": r["host_key"]})
        self.assertEqual(r["network_cli"]["exit"], 0, r["network_cli"]["stderr"])
        self.assertEqual(r["network_cli"]["access_key_line"][1:], ["*" * 16 + r["host_key"][-4:], "container-role"])
        prefix = r["network"]["subnet"].rsplit(".", 2)[0] + "."
        self.assertTrue(any(word.startswith("from " + prefix) for word in self.lines_of_list()["api"]))

    def test_renewed_then_revoked(self):
        r = self.report
        self.assertNotEqual(r["renewed_key"], r["host_key"])
        self.assertEqual(r["network_after_renewal"]["key"], r["renewed_key"])
        self.assertEqual(r["revoke_exit"], 0)
        self.assertEqual(r["network_after_revoke"], [[404, "GrantNotFound"]])

    def test_a_container_gets_nothing_else(self):
        r = self.report
        self.assertEqual(r["no_grant_botocore"], {"ok": False, "error": "CredentialRetrievalError"})
        unknown, host_path, profile_path, grants, other_host, localhost, health = r["bridge_elsewhere"]
        self.assertEqual(unknown, [404, "GrantNotFound"])
        for answer in (host_path, profile_path, grants, other_host, localhost):
            self.assertEqual(answer, [403, "ForbiddenPeer"])
        self.assertEqual(health, [200, None])

    def test_host_network_is_a_user_of_the_host(self):
        r = self.report  # root in a --network host container: served as root on the host is
        self.assertEqual(r["host_network_botocore"], {"ok": True, "method": "container-role", "key": r["host_key"]})

    def test_labels_in_the_log_ids_nowhere(self):
        r = self.report
        self.assertIn("GET /v2/credentials/(web) 200", r["log"])
        self.assertIn("GET /v2/credentials/(api) 200", r["log"])
        for grant_id in r["grant_ids"]:
            self.assertNotIn(grant_id, r["log"])
            self.assertNotIn(grant_id, r["list"])

    def test_the_host_is_left_as_found(self):
        r = self.report
        self.assertFalse(r["before"])
        self.assertTrue(r["added"])
        self.assertEqual(r["sigterm_exit"], 0)
        self.assertFalse(r["after_sigterm"])
        self.assertEqual(self.after, self.before)


if __name__ == "__main__":
    unittest.main()
