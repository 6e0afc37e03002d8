"""Hardening round 3 with root, in namespaces this test creates (`unshare -n
-m`, as root): a container that picks its source port, one that uses another's
grant, one that holds 1,100 connections, and revocations on a full and on a
read-only disk, each followed by a restart.  The scenario runs in
e2e/hardening3_netns_inner.py (the real service, ecs --containers, dropping
to nobody); this asserts on its report."""

import unittest

from e2e._netns import require_namespaces, run_inner

import runas_meta as rm

require_namespaces("the hardening tests", ["-n", "-m"], ("unshare", "nsenter", "ip"))


class HardeningRoundThree(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.report = run_inner(["unshare", "-n", "-m", "--propagation", "private"], "hardening3_netns_inner.py")

    def test_a_container_on_a_listeners_port_is_no_local_process(self):
        """sock_diag's listener fallback: root's 0.0.0.0:2222 and the user's
        [::]:3333 made such a container the host's root or the user."""
        for who in ("root", "user"):
            self.assertEqual(set(self.report["source_port_" + who].values()), {403}, who)
            self.assertEqual(self.report["source_port_%s_ecs_host" % who], 403, who)

    def test_a_grant_serves_only_the_container_that_used_it_first(self):
        r = self.report
        self.assertEqual(r["c1_web"], 200)
        self.assertEqual(r["c2_web"], [403, {"code": "GrantBoundElsewhere",
                                             "message": "this grant is bound to another container"}])
        self.assertEqual(r["c2_db"], 200)
        self.assertIn("grant 'web' was asked for from 172.17.0.3", r["log"])

    def test_one_container_cannot_take_every_connection(self):
        flood = self.report["flood"]
        self.assertEqual(flood["held"], 1100)
        self.assertEqual(flood["refused_at_once"], 1100 - rm.MAX_PER_SOURCE)
        self.assertEqual(flood["c1_web"], 200)  # another container's grant meanwhile
        self.assertEqual(flood["host"], 200)

    def test_a_revocation_on_a_full_disk_holds_after_a_restart(self):
        r = self.report
        self.assertEqual(r["free_after_fill"], 0)
        self.assertEqual(r["revoke_full"], {"exit": 0, "out": "grant 'web' revoked", "err": ""})
        self.assertEqual(r["web_after_revoke"], 404)
        self.assertEqual(r["web_after_restart"], 404)
        self.assertEqual(r["db_after_restart"], 200)  # the other grant is untouched
        self.assertIn("No space left on device; revocations struck out in place", r["log"])

    def test_a_revocation_on_a_read_only_disk_is_said_and_still_holds(self):
        r = self.report
        self.assertEqual(r["revoke_read_only"]["exit"], 1)
        self.assertIn("revoked, but not kept", r["revoke_read_only"]["err"])
        self.assertEqual(r["db_after_read_only_restart"], 404)
        self.assertEqual(r["grants_file_labels"], [])  # written once the disk could take it
        self.assertEqual(r["spare_files"], [])  # and the spare copy is gone
        self.assertEqual(r["ids_in_log"], [])


if __name__ == "__main__":
    unittest.main()
