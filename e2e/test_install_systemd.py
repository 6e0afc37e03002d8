"""`runas-meta install` with a real `systemd --user` (Debian's systemd), in
private mount and network namespaces this test creates: the unit starts the
service, a SIGKILL is followed by a restart, `uninstall` stops it and removes
the unit.  The scenario is e2e/install_systemd_inner.py."""

import unittest

from e2e._netns import require_namespaces, run_inner

require_namespaces("the systemd install test", ["-n", "-m"], ("unshare", "ip", "systemctl", "systemd-analyze"))


class InstallUnderSystemd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.report = run_inner(["unshare", "-n", "-m", "--propagation", "private"], "install_systemd_inner.py")

    def test_install_starts_the_service_at_once(self):
        r = self.report
        self.assertTrue(r["manager_up"])
        self.assertEqual(r["install"]["code"], 0, r["install"])
        self.assertIn("ran: systemctl --user enable runas-meta-ecs.service", r["install"]["out"])
        self.assertIn("Restart=always", r["unit"])
        self.assertTrue(r["served"])
        self.assertTrue(r["first_key"].startswith("ASIAFAKE"))  # from the fake STS: the variable was carried

    def test_a_killed_service_is_restarted(self):
        r = self.report
        self.assertTrue(r["restarted"], r)
        self.assertEqual(r["n_restarts"], "1")
        self.assertEqual(r["after_restart_key"], r["first_key"])  # the restart read the disk cache: no new call

    def test_uninstall_stops_it_and_removes_the_unit(self):
        r = self.report
        self.assertEqual(r["uninstall"]["code"], 0, r["uninstall"])
        self.assertIn("removed ", r["uninstall"]["out"])
        self.assertTrue(r["stopped"])
        self.assertFalse(r["unit_after"])
        self.assertIn(r["is_enabled_after"], ("not-found", ""))
        self.assertEqual(r["cgroups_left"], [])


if __name__ == "__main__":
    unittest.main()
