"""runas_meta exactly as shipped, but with every set of credentials inside
its refresh window from the moment it is issued (REFRESH_FRACTION = 1), so
that renewals run back to back: the benchmark's "renewal under load"."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import runas_meta  # noqa: E402

runas_meta.REFRESH_FRACTION = 1.0
runas_meta.REFRESH_AHEAD = 10 ** 9
runas_meta.RETRY_RENEWAL = 0

if __name__ == "__main__":
    sys.exit(runas_meta.main())
