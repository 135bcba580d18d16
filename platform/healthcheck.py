"""Exits 0 when this container's web server answers PATH (default /healthz) with 200; for compose healthchecks.

    python /platform/healthcheck.py [/readyz]

It asks as `localhost`, which compose adds to ALLOWED_HOSTS, whatever the public host is.
"""

import os
import sys
import urllib.error
import urllib.request

path = sys.argv[1] if len(sys.argv) > 1 else "/healthz"
origin = os.environ.get("HEALTHCHECK_ORIGIN", "http://127.0.0.1:8000")
request = urllib.request.Request(f"{origin}{path}", headers={"Host": "localhost"})
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except urllib.error.HTTPError as error:
    sys.exit(f"{path}: {error.code} {error.read(500).decode(errors='replace')}")
except OSError as error:
    sys.exit(f"{path}: {error}")
