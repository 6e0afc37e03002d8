"""What the suites that build private namespaces share.

An outer test (test_*.py) checks that this machine lets root make the
namespaces it needs, starts its scenario file under `unshare` and asserts on
the one JSON line the scenario prints last.  The scenario (*_inner.py) runs
inside the namespaces, so everything it makes goes with them.
"""

import json
import os
import select
import shutil
import subprocess
import sys
import time
import unittest

from e2e._peers import FULL

HERE = os.path.dirname(os.path.abspath(__file__))


def require_namespaces(what, flags, commands=("unshare",)):
    """Skip the calling module unless root can run `unshare FLAGS true` and
    every command is installed; with RUNAS_META_FULL=1 fail instead."""
    ok = (hasattr(os, "geteuid") and os.geteuid() == 0 and all(map(shutil.which, commands))
          and subprocess.run(["unshare"] + list(flags) + ["true"], capture_output=True).returncode == 0)
    if ok:
        return
    needs = "root, unshare %s and %s" % (" ".join(flags), ", ".join(commands))
    if FULL:
        raise AssertionError("%s need %s (CI runs as root)" % (what, needs))
    raise unittest.SkipTest("needs " + needs)


def run_inner(unshare, script, timeout=400, env=None):
    """Run e2e/SCRIPT under `unshare` (its flags) and return its report."""
    result = subprocess.run(unshare + [sys.executable, os.path.join(HERE, script)], capture_output=True, text=True,
                            timeout=timeout, cwd=os.path.dirname(HERE), env=env)
    if result.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (script, result.returncode, result.stdout[-2000:],
                                                          result.stderr[-4000:]))
    return json.loads(result.stdout.strip().splitlines()[-1])


def only_loopback_here():
    """A fresh namespace from `unshare -n` has the loopback interface and nothing else."""
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in links.splitlines() if line.strip()]
    return names == ["lo"]


def wait_until(predicate, seconds=10.0):
    """Poll `predicate` every 50 ms until it holds or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        select.select([], [], [], 0.05)
    return predicate()


def stop_process(proc, seconds=30):
    """SIGTERM, then SIGKILL if it is still there after `seconds`."""
    proc.terminate()
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
