#!/usr/bin/env python3
"""Key-value store with the course's IM server interface.

GET /?action=get&key=K          -> value + "\n"
GET /?action=set&key=K&value=V  -> "\n"
GET /?action=unset&key=K        -> "\n"
GET /?action=clear              -> "\n"
GET /?action=keys               -> list of keys, then an empty line
"""
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

store = {}
store_lock = threading.Lock()


def handle(params):
    action = params.get("action", [""])[0]
    key = params.get("key", [""])[0]
    with store_lock:
        if action == "get":
            return store.get(key, "") + "\n"
        if action == "set":
            store[key] = params.get("value", [""])[0]
            return "\n"
        if action == "unset":
            store.pop(key, None)
            return "\n"
        if action == "clear":
            store.clear()
            return "\n"
        if action == "keys":
            return "\n".join(store.keys()) + "\n"
    return "\n"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        query = urlsplit(self.path).query
        body = handle(parse_qs(query, keep_blank_values=True)).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass  # keep the console quiet


def main():
    if len(sys.argv) != 2:
        print("usage: kvserver.py PORT", file=sys.stderr)
        sys.exit(2)
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True

    def stop(signum, frame):
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"Serving key-value store on port {port}", flush=True)
    server.serve_forever()
    server.server_close()
    print("Server stopped", flush=True)


if __name__ == "__main__":
    main()
