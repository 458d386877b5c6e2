#!/usr/bin/python3
"""Key-value "IM server" compatible with the course's IMserver.php.

    GET <any path>?action=get&key=K          -> value + "\\n" ("\\n" when K is not set)
    GET <any path>?action=set&key=K&value=V  -> "\\n"
    GET <any path>?action=unset&key=K        -> "\\n"
    GET <any path>?action=clear              -> "\\n"
    GET <any path>?action=keys               -> each key + "\\n", then "\\n"

It binds 127.0.0.1 on a port the OS picks (or the one given with --port) and prints
    IM server listening on http://127.0.0.1:PORT/IMserver.php
once it accepts connections. Typing "quit" on its console stops it (SIGTERM works too).
Keys and values are kept as bytes: the query is percent-decoded as latin-1 so that any
byte sequence a client sends comes back unchanged.
"""
import argparse
import sys
import threading
import signal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs


class Store:
    def __init__(self):
        self._data = {}
        self._mutex = threading.Lock()

    def get(self, key):
        with self._mutex:
            return self._data.get(key)

    def set(self, key, value):
        with self._mutex:
            self._data[key] = value

    def unset(self, key):
        with self._mutex:
            self._data.pop(key, None)

    def clear(self):
        with self._mutex:
            self._data.clear()

    def keys(self):
        with self._mutex:
            return list(self._data.keys())


STORE = Store()


def first(params, name):
    vals = params.get(name)
    return vals[0] if vals else ""


class IMHandler(BaseHTTPRequestHandler):
    server_version = "IMServer/0.2"

    def do_GET(self):
        query = urlsplit(self.path).query
        # latin-1 keeps every decoded byte as one char, so binary values survive
        params = parse_qs(query, keep_blank_values=True, encoding="latin-1")
        action = first(params, "action")
        key = first(params, "key")

        if action == "get":
            value = STORE.get(key)
            body = (value if value is not None else "") + "\n"
        elif action == "set":
            STORE.set(key, first(params, "value"))
            body = "\n"
        elif action == "unset":
            STORE.unset(key)
            body = "\n"
        elif action == "clear":
            STORE.clear()
            body = "\n"
        elif action == "keys":
            body = "".join(k + "\n" for k in STORE.keys()) + "\n"
        else:
            body = "\n"

        payload = body.encode("latin-1")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, fmt, *args):
        pass  # quiet; the course server does not log either


class IMServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a client that hangs up before reading its answer is not our problem
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def console_watch(httpd):
    for line in sys.stdin:
        if line.strip().lower() == "quit":
            print("IM server shutting down", flush=True)
            httpd.shutdown()
            return
    # EOF on the console: keep serving, only "quit" or a signal stops us


def main():
    ap = argparse.ArgumentParser(description="key-value IM server")
    ap.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    args = ap.parse_args()

    httpd = IMServer(("127.0.0.1", args.port), IMHandler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown).start())

    host, port = httpd.server_address[:2]
    print("IM server listening on http://%s:%d/IMserver.php" % (host, port), flush=True)

    threading.Thread(target=console_watch, args=(httpd,), daemon=True).start()
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
