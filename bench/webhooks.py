#!/usr/bin/env python3
"""The webhooks benchmark (bench/run.sh --only webhooks): webhook delivery from
the outbox to a local receiver.

Starts a receiver (Python's http.server, threaded) on a free port, creates
WEBHOOKS webhooks for organization.updated through the API, then commits
EVENTS events for each of them in one transaction (the outbox rows the audit
writer would write: kind `webhook`, one per event and webhook) and waits for
every delivery. Prints one JSON line: deliveries/s (from the commit to the
last arrival), commit -> delivery lag p50/p99, and whether any event arrived
twice or not at all.

    bench/webhooks.py BASE_URL TOKEN ORG_ID PG_URL [EVENTS] [WEBHOOKS]
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid() -> str:
    """A ULID (48-bit milliseconds, 80 random bits) in Crockford base32."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def main() -> None:
    base, token, org, pg_url = sys.argv[1:5]
    events = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    hooks = int(sys.argv[6]) if len(sys.argv) > 6 else 4
    arrivals = []  # (monotonic seconds, path, webhook-id)
    lock = threading.Lock()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            now = time.monotonic()
            with lock:
                arrivals.append((now, self.path, self.headers.get("webhook-id")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        # http.server's default listen backlog is 5: a batch of concurrent
        # deliveries beyond it has its SYNs dropped and retried a second later,
        # which would measure the receiver, not the server.
        request_queue_size = 1024

    server = Server(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    webhook_ids = []
    for n in range(hooks):
        request = urllib.request.Request(
            f"{base}/v1/organizations/{org}/webhooks",
            data=json.dumps(
                {"url": f"http://127.0.0.1:{port}/hook/{n}", "events": ["organization.updated"]}
            ).encode(),
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request) as response:
            webhook_ids.append(json.load(response)["id"])

    rows = []
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for n in range(events):
        event = "evt_" + ulid()
        data = {"entityType": "organization", "entityId": org, "n": n}
        for webhook in webhook_ids:
            payload = {
                "webhookId": webhook,
                "organizationId": org,
                "eventId": event,
                "type": "organization.updated",
                "timestamp": stamp,
                "data": data,
                "once": False,
                "firstAttempt": 1,
            }
            literal = json.dumps(payload).replace("'", "''")
            rows.append(f"('{uuid.uuid4()}', 'webhook', '{literal}'::jsonb, 0, now(), now(), now())")
    sql = (
        "BEGIN;\nINSERT INTO outbox_messages "
        "(id, kind, payload, attempts, next_attempt_at, created_at, updated_at) VALUES\n"
        + ",\n".join(rows)
        + ";\nCOMMIT;\n"
    )
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg_url],
        input=sql.encode(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    committed = time.monotonic()
    expected = events * hooks
    deadline = committed + 600
    while time.monotonic() < deadline:
        with lock:
            if len(arrivals) >= expected:
                break
        time.sleep(0.05)
    time.sleep(1)  # anything sent twice would arrive by now
    with lock:
        got = list(arrivals)
    lags = sorted((t - committed) * 1000 for t, _, _ in got)
    pairs = {(path, wid) for _, path, wid in got}

    def pct(p: int) -> float:
        return round(lags[max(0, (len(lags) * p + 99) // 100 - 1)], 1) if lags else None

    span = (max(t for t, _, _ in got) - committed) if got else None
    print(
        json.dumps(
            {
                "events": events,
                "webhooks": hooks,
                "expected": expected,
                "delivered": len(got),
                "duplicates": len(got) - len(pairs),
                "missing": expected - len(pairs),
                "deliveriesPerSecond": round(len(got) / span, 1) if span else None,
                "lagP50Ms": pct(50),
                "lagP99Ms": pct(99),
            }
        )
    )


if __name__ == "__main__":
    main()
