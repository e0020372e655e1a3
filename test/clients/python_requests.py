"""python3 `requests` as one client of the real-client matrix (real-clients.test.ts).

Usage: python_requests.py BASE OUTDIR, one request per stdin line: NAME METHOD PATH BODY (none, form,
json or chunked). Prints one JSON line per request ({name, status, headers}) and writes the body to
OUTDIR/NAME.body. Redirects are not followed, as Cloud 66 clients do not follow them either.
"""
import json
import os
import sys

import requests

base, out = sys.argv[1], sys.argv[2]
token = os.environ.get("C66_TOKEN")


def chunks(path):
    """A generator body: requests sends it with Transfer-Encoding: chunked."""
    with open(path, "rb") as f:
        while block := f.read(64 * 1024):
            yield block


session = requests.Session()
session.trust_env = False  # no http_proxy or .netrc from the machine
for line in sys.stdin:
    name, method, path, body = line.split()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body == "form":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        data = os.environb[b"C66_FORM_BODY"]
    elif body == "json":
        headers["Content-Type"] = "application/json"
        data = os.environb[b"C66_JSON_BODY"]
    elif body == "chunked":
        headers["Content-Type"] = "application/octet-stream"
        data = chunks(os.environ["C66_UPLOAD_FILE"])
    res = session.request(method, base + path, headers=headers, data=data, allow_redirects=False, stream=True, timeout=60)
    with open(os.path.join(out, name + ".body"), "wb") as f:
        for block in res.iter_content(64 * 1024):
            f.write(block)
    seen = {}
    for key in res.raw.headers.keys():
        seen[key.lower()] = res.raw.headers.getlist(key)
    print(json.dumps({"name": name, "status": res.status_code, "headers": seen}), flush=True)
