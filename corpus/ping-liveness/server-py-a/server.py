#!/usr/bin/python3
"""ping-liveness chat server: version negotiation, login, echo chat, heartbeat.

Wire: one JSON object per line over TCP:
    {"mtype": N, "payload": {...}, "version": "1.0.0", "sz": N}

Usage: server.py --port PORT [--host 127.0.0.1] [--timeout-ms MS]
The heartbeat timeout can also come from the environment (PL_TIMEOUT_MS).
"""
import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
import uuid

PROTO_VERSION = "1.0.0"
SUPPORTED_VERSIONS = ["1.0.0"]
ACCOUNTS = {"user1": "pass1", "user2": "pass2"}

LOGIN_REQUEST = 1
LOGIN_RESPONSE = 2
CHAT_MESSAGE = 3
LOGOUT = 4
ERROR = 5
PING = 6
VERSION_REQUEST = 7
VERSION_RESPONSE = 8

ERR_NO_SESSION = 1
ERR_TIMEOUT = 2
ERR_ELSEWHERE = 3
ERR_VERSION = 5

DEFAULT_TIMEOUT_MS = 30000


def log(*args):
    print(*args, file=sys.stderr, flush=True)


class Session:
    def __init__(self, user, client):
        self.id = uuid.uuid4().hex
        self.user = user
        self.client = client
        self.last_seen = time.monotonic()


class Client:
    """One TCP connection. The session (if any) belongs to the connection."""

    def __init__(self, sock, addr):
        self.sock = sock
        self.addr = addr
        self.session = None
        self.version = None
        self._wlock = threading.Lock()

    def send(self, mtype, payload):
        body = json.dumps(payload)
        msg = {"mtype": mtype, "payload": payload,
               "version": self.version or PROTO_VERSION, "sz": len(body)}
        data = (json.dumps(msg) + "\n").encode("utf-8")
        with self._wlock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass

    def error(self, sid, code, text):
        self.send(ERROR, {"id": sid, "error_code": code, "message": text})

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class ChatServer:
    def __init__(self, timeout_s):
        self.timeout_s = timeout_s
        self.lock = threading.Lock()
        self.by_user = {}  # user name -> Session

    # --- session bookkeeping (call with self.lock held) ---
    def _end(self, sess):
        if self.by_user.get(sess.user) is sess:
            del self.by_user[sess.user]
        if sess.client.session is sess:
            sess.client.session = None

    def reaper(self):
        while True:
            time.sleep(0.2)
            now = time.monotonic()
            expired = []
            with self.lock:
                for sess in list(self.by_user.values()):
                    if now - sess.last_seen > self.timeout_s:
                        self._end(sess)
                        expired.append(sess)
            for sess in expired:
                log("session of %s timed out" % sess.user)
                sess.client.error(sess.id, ERR_TIMEOUT, "session timed out")
                sess.client.close()

    # --- per connection ---
    def handle(self, client):
        f = client.sock.makefile("rb")
        try:
            for raw in f:
                line = raw.strip()
                if not line:
                    continue
                try:
                    msg = json.loads(line.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    log("bad json from", client.addr)
                    continue
                if not isinstance(msg, dict):
                    continue
                with self.lock:
                    if client.session is not None:
                        client.session.last_seen = time.monotonic()
                self.dispatch(client, msg)
        except OSError:
            pass
        finally:
            with self.lock:
                if client.session is not None:
                    log("%s disconnected without logging out" % client.session.user)
                    self._end(client.session)
            try:
                client.sock.close()
            except OSError:
                pass

    def dispatch(self, client, msg):
        mtype = msg.get("mtype")
        payload = msg.get("payload")
        if not isinstance(payload, dict):
            payload = {}

        if mtype == VERSION_REQUEST:
            offered = payload.get("supported_versions")
            if not isinstance(offered, list):
                offered = []
            chosen = None
            for v in SUPPORTED_VERSIONS:
                if v in offered:
                    chosen = v
                    break
            if chosen is None:
                client.error(None, ERR_VERSION,
                             "unsupported version, this server speaks %s" % ", ".join(SUPPORTED_VERSIONS))
            else:
                client.version = chosen
                client.send(VERSION_RESPONSE, {"selected_version": chosen, "success": True})

        elif mtype == LOGIN_REQUEST:
            user = payload.get("username")
            password = payload.get("password")
            if client.session is not None:
                client.error(client.session.id, ERR_ELSEWHERE,
                             "this connection is already logged in as %s" % client.session.user)
                return
            if not isinstance(user, str) or ACCOUNTS.get(user) != password:
                client.send(LOGIN_RESPONSE, {"auth": 1, "id": None})
                return
            with self.lock:
                if user in self.by_user:
                    sess = None
                else:
                    sess = Session(user, client)
                    self.by_user[user] = sess
                    client.session = sess
            if sess is None:
                client.error(None, ERR_ELSEWHERE, "%s is logged in from another location" % user)
            else:
                log("%s logged in" % user)
                client.send(LOGIN_RESPONSE, {"auth": 0, "id": sess.id})

        elif mtype == CHAT_MESSAGE:
            sess = self._own_session(client, payload)
            if sess is not None:
                client.send(CHAT_MESSAGE, {"id": sess.id, "time": payload.get("time"),
                                           "message": payload.get("message")})

        elif mtype == PING:
            sess = self._own_session(client, payload)
            if sess is not None:
                client.send(PING, {"id": sess.id})

        elif mtype == LOGOUT:
            sess = self._own_session(client, payload)
            if sess is not None:
                with self.lock:
                    self._end(sess)
                log("%s logged out" % sess.user)
                client.send(LOGOUT, {"id": sess.id})
        else:
            log("ignoring mtype", mtype)

    def _own_session(self, client, payload):
        """The id in the payload must be the one this connection logged in with."""
        sid = payload.get("id")
        sess = client.session
        if sess is None or sid != sess.id:
            client.error(sid, ERR_NO_SESSION, "session not found")
            return None
        return sess


def main():
    ap = argparse.ArgumentParser(description="ping-liveness chat server")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--timeout-ms", type=int,
                    default=int(os.environ.get("PL_TIMEOUT_MS", DEFAULT_TIMEOUT_MS)),
                    help="drop a session not heard from for this long (default 30000)")
    args = ap.parse_args()

    server = ChatServer(args.timeout_ms / 1000.0)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.host, args.port))
    lsock.listen(32)

    def on_term(signum, frame):
        sys.exit(0)
    signal.signal(signal.SIGTERM, on_term)

    threading.Thread(target=server.reaper, daemon=True).start()
    print("ping-liveness server listening on %s:%d (timeout %d ms)"
          % (args.host, args.port, args.timeout_ms), flush=True)
    try:
        while True:
            sock, addr = lsock.accept()
            threading.Thread(target=server.handle, args=(Client(sock, addr),), daemon=True).start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        lsock.close()


if __name__ == "__main__":
    main()
