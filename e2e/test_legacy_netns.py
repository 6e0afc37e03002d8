"""Legacy mode on the real metadata address, inside a private network
namespace that this test creates (`unshare -n`, as root): never outside one.
The scenario runs in e2e/legacy_netns_inner.py; this asserts on its report."""

import unittest

from e2e._netns import require_namespaces, run_inner
from e2e._peers import need


need("botocore")
require_namespaces("the legacy-mode tests", ["-n"], ("unshare", "ip"))


class LegacyModeInANamespace(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.report = run_inner(["unshare", "-n"], "legacy_netns_inner.py", timeout=240)

    def test_address_added_and_serving_as_the_sudo_user(self):
        r = self.report
        self.assertFalse(r["before"])
        self.assertTrue(r["added"])
        uid, gid = r["nobody"]
        uids, gids, groups = r["ids"]
        self.assertEqual(uids, [uid] * 4)  # real, effective, saved, filesystem
        self.assertEqual(gids, [gid] * 4)
        self.assertEqual(groups, [gid])
        self.assertEqual(r["cache_owner"], uid)  # the cache is written by the user, not root
        self.assertIn("running as uid %d" % uid, r["sigterm_log"])

    def test_botocore_finds_it_with_no_endpoint_variable(self):
        method, access_key = self.report["botocore"]
        self.assertEqual(method, "iam-role")
        self.assertEqual(self.report["identities"][access_key],
                         "arn:aws:sts::123456789012:assumed-role/dev/fixed-name")
        self.assertIn("PUT /latest/api/token 200", self.report["sigterm_log"])  # IMDSv2 (v2-only)
        self.assertNotIn("AWS_EC2_METADATA_SERVICE_ENDPOINT", self.report["started_output"])

    def test_answers_leave_with_ttl_1(self):
        served, sent = self.report["ttls"]
        self.assertEqual(served, [1])  # every packet from the service, the SYN-ACK included
        self.assertEqual(sent, [64])  # the client's own packets: the measurement tells them apart

    def test_page_api_and_ecs_paths_answer(self):
        self.assertEqual(self.report["page"], 200)
        self.assertEqual(self.report["roles"], ["deeper", "dev", "long", "nomfa"])
        self.assertIn("SecretAccessKey", self.report["ecs"])

    def test_address_removed_however_it_ends(self):
        r = self.report
        self.assertEqual(r["sigterm_exit"], 0)
        self.assertFalse(r["after_sigterm"])
        self.assertTrue(r["added_again"])
        self.assertEqual(r["sigkill_exit"], -9)
        self.assertTrue(r["after_sigkill"], "the address is still there after SIGKILL")
        self.assertEqual(r["error_exit"], 2)
        self.assertIn("profile 'ghost' not found", r["error_stderr"])
        self.assertFalse(r["after_error"])

    def test_not_root_is_one_clear_line(self):
        self.assertEqual(self.report["notroot_exit"], 2)
        lines = self.report["notroot_stderr"].strip().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("needs root", lines[0])
        self.assertIn("sudo ", lines[0])
        self.assertIn("ec2 -p 8000", lines[0])
        self.assertFalse(self.report["after_notroot"])
        self.assertNotIn("Traceback", self.report["notroot_stderr"])


if __name__ == "__main__":
    unittest.main()
