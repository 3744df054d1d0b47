"""Sends N identical `pong` action calls over one keep-alive connection (bench/instructions.sh)."""
import http.client
import os
import sys

port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
body = open(os.path.join(os.path.dirname(__file__), "../../shared/peers/body.json"), "rb").read()
secret = os.environ["EVENT_SECRET"]
headers = {"Content-Type": "application/json", "User-Agent": "hasura-graphql-engine/v2.48.0",
           "X-Event-Secret": secret, "X-Rasura-Webhook-Secret": secret}
if os.environ.get("JWT"):
    headers["Authorization"] = "Bearer " + os.environ["JWT"]
conn = http.client.HTTPConnection("127.0.0.1", port)
failures = 0
for _ in range(n):
    conn.request("POST", path, body, headers)
    response = conn.getresponse()
    response.read()
    failures += response.status != 200
if failures:
    sys.exit(f"{failures} of {n} requests failed")
