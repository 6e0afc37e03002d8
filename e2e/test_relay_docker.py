"""The relay: Debian's dockerd started by this test inside private network,
mount and PID namespaces (`unshare -n -m -p`, as root), the host's service as
`nobody` from its start (no root on the host's side), the relay in a
container at 169.254.170.2 of a network with subnet 169.254.170.0/24, and
botocore and the AWS CLI in other containers of that network with only
AWS_CONTAINER_CREDENTIALS_RELATIVE_URI.  The scenario runs in
e2e/relay_docker_inner.py; this asserts on its report and that the host is
left as it was found."""

import unittest

from e2e._netns import require_namespaces, run_inner
from e2e._peers import need, need_command
from e2e.test_containers_docker import UNSHARE, host_state

need("botocore")
need_command("aws")
require_namespaces("the relay tests", ["-n", "-m", "-p", "--fork"],
                   ("unshare", "ip", "tar", "dockerd", "docker", "setpriv"))

NOT_FOUND = [404, "GrantNotFound"]
BOUND = [403, "GrantBoundElsewhere"]
FORBIDDEN = [403, "ForbiddenPeer"]


class RelayWithRealDocker(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.before = host_state()
        cls.report = run_inner(UNSHARE, "relay_docker_inner.py", timeout=600)
        cls.after = host_state()

    def test_the_host_side_runs_with_no_root(self):
        r = self.report
        self.assertEqual(set(r["service_uids"]), {r["nobody"]})
        self.assertEqual(r["secret_mode"], "0o600")
        self.assertTrue(r["banner_relay"] and "169.254.170.1:12320" in r["banner_relay"][0], r["banner_relay"])
        self.assertTrue(r["relay_up"])

    def test_botocore_and_the_aws_cli_get_the_granted_role_through_the_relay(self):
        r = self.report
        self.assertEqual(r["botocore"], {"ok": True, "method": "container-role", "key": r["host_key"]})
        self.assertEqual(r["cli"]["exit"], 0, r["cli"])
        self.assertEqual(r["cli"]["access_key_line"][1:], ["*" * 16 + r["host_key"][-4:], "container-role"])

    def test_every_other_request_is_refused(self):
        no_grant, others, credentials, grants, direct, direct_secret, own = self.report["refusals"]
        self.assertEqual(no_grant, NOT_FOUND)
        self.assertEqual(others, BOUND)  # the app container's grant, from another container
        self.assertEqual((credentials, grants), (FORBIDDEN, FORBIDDEN))
        self.assertEqual(direct, FORBIDDEN)  # the host's listener: only the relay's address
        self.assertEqual(direct_secret, FORBIDDEN)  # even with the secret
        self.assertEqual(own[0], 200)
        self.assertEqual(self.report["from_relay_address"], [FORBIDDEN, FORBIDDEN])  # no secret, a wrong one

    def test_revocation_reaches_the_relay_and_a_killed_relay_serves_nothing(self):
        r = self.report
        self.assertEqual(r["revoke_exit"], 0)
        self.assertEqual(r["after_revoke"], [NOT_FOUND])
        self.assertEqual(r["relay_killed"][0][0], "error")
        self.assertFalse(r["botocore_after_kill"]["ok"])

    def test_the_relay_logs_no_grant_id_and_the_host_is_left_as_found(self):
        r = self.report
        self.assertIn("/v2/credentials/(no-grant)", r["relay_log"])
        for grant_id in r["grant_ids"]:
            self.assertNotIn(grant_id, r["relay_log"])
            self.assertNotIn(grant_id, r["log"])
        self.assertEqual(r["sigterm_exit"], 0)
        self.assertEqual(self.before, self.after)


if __name__ == "__main__":
    unittest.main()
