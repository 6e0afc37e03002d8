"""`ecs --containers` and grants, inside private network and mount
namespaces that this test creates (`unshare -n -m`, as root): a bridge with
two containers, a routed guest and a neighbour, as docker and a LAN would
make them; nothing outside is touched.  The scenario runs in
e2e/containers_netns_inner.py; this asserts on its report."""

import unittest

from e2e._netns import require_namespaces, run_inner
from e2e._peers import need, need_command


need("botocore")
need_command("aws")
require_namespaces("the containers tests", ["-n", "-m"], ("unshare", "nsenter", "ip"))


class ContainersInNamespaces(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.report = run_inner(["unshare", "-n", "-m", "--propagation", "private"], "containers_netns_inner.py")

    def test_the_granted_container_gets_the_role_with_one_variable(self):
        r = self.report
        self.assertEqual(r["c1_botocore"], {"ok": True, "method": "container-role", "key": r["host_key"]})
        self.assertEqual(r["c1_cli"]["exit"], 0)
        self.assertEqual(r["c1_cli"]["access_key_line"][1:], ["*" * 16 + r["host_key"][-4:], "container-role"])
        self.assertEqual(r["env_file"], ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=%s\n" % r["relative_uri"], "0o600"])
        for form in ("docker run -e AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=", "environment:",
                     '"containerEnv": {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"'):
            self.assertIn(form, r["grant"]["out"])

    def test_a_renewal_reaches_the_container(self):
        r = self.report
        self.assertNotEqual(r["renewed_key"], r["host_key"])
        self.assertEqual(r["c1_after_renewal"]["key"], r["renewed_key"])

    def test_revoked_within_a_second(self):
        r = self.report
        self.assertEqual(r["revoke"]["exit"], 0, r["revoke"]["err"])
        self.assertEqual(r["after_revoke"][0], 404)
        self.assertEqual(r["after_revoke"][1]["code"], "GrantNotFound")
        self.assertLess(r["revoke_to_refusal_s"], 1.0)
        self.assertFalse(r["c1_botocore_after_revoke"]["ok"])

    def test_others_get_nothing(self):
        r = self.report
        self.assertFalse(r["c2_no_id"]["ok"])  # the other container, without the id
        self.assertEqual(r["c2_raw_no_id"][0], 404)
        self.assertEqual(r["guest"][0], "timeout")  # one routed hop behind a container: TTL 1
        self.assertFalse(r["guest_botocore"]["ok"])
        self.assertEqual(r["neighbour"][0], 403)  # a plain veth is no local bridge, even with the id
        self.assertEqual(r["neighbour"][1]["code"], "ForbiddenPeer")
        self.assertEqual(r["other_user"][0], 403)  # another user of the host, with a valid id
        self.assertEqual(r["other_user"][1]["code"], "ForbiddenUser")

    def test_a_container_is_refused_everywhere_else(self):
        r = self.report
        for path, (status, body) in r["c1_elsewhere"].items():
            self.assertEqual(status, 403, path)
            self.assertEqual(body["code"], "ForbiddenPeer", path)
        self.assertEqual(set(r["c1_other_hosts"].values()), {403})
        self.assertEqual(r["c1_health"], [200, {"status": "healthy"}])

    def test_allow_other_users_never_serves_containers(self):
        allow = self.report["allow_others"]
        self.assertEqual(allow["other_user"], 200)
        self.assertEqual(allow["container_credentials"][0], 403)
        self.assertEqual(allow["container_grant"], 200)

    def test_address_privileges_and_cleanup(self):
        r = self.report
        self.assertFalse(r["before"])
        self.assertTrue(r["added"])
        self.assertEqual(len(set(r["uids"])), 1)
        self.assertNotEqual(r["uids"][0], 0)  # privileges dropped
        self.assertIn("169.254.170.2", r["banner"])
        self.assertEqual(r["sigterm_exit"], 0)
        self.assertFalse(r["after_sigterm"])
        self.assertEqual(r["sigkill_exit"], -9)
        self.assertTrue(r["after_sigkill"], "the address is still there after SIGKILL")
        self.assertEqual(r["collision"]["exit"], 2)
        self.assertIn("rmxother", r["collision"]["stderr"])
        self.assertFalse(r["collision"]["address"])

    def test_ids_stay_out_of_the_log_and_the_label_is_in(self):
        r = self.report
        self.assertEqual(r["grant_ids_in_log"], [])
        self.assertIn("GET /v2/credentials/(web) 200", r["log"])
        self.assertNotIn(r["relative_uri"].rsplit("/", 1)[1], r["list"]["out"])
        self.assertIn("172.17.0.2", r["list"]["out"])


if __name__ == "__main__":
    unittest.main()
