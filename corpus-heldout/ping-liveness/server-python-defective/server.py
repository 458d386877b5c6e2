#!/usr/bin/env python3
"""Echo chat server: version negotiation, login, echo, ping heartbeat, logout.

TCP, one JSON message per line: {"mtype": N, "payload": {...}, "version": "1.0.0", "sz": N}
"""
import argparse
import json
import signal
import socket
import socketserver
import sys
import threading
import time
import uuid

LOGIN_REQUEST, LOGIN_RESPONSE, CHAT_MESSAGE, LOGOUT, ERROR, PING, VERSION_REQUEST, VERSION_RESPONSE = range(1, 9)
ERR_NO_SESSION, ERR_TIMEOUT, ERR_ELSEWHERE, ERR_BAD_MESSAGE, ERR_VERSION = 1, 2, 3, 4, 5
SUPPORTED = ["1.0.0"]
USERS = {"user%d" % i: "pass%d" % i for i in range(1, 10)}
USERS.update({"admin": "admin", "guest": "guest"})

lock = threading.RLock()
sessions = {}      # session id -> {"user", "handler", "seen"}
logged_in = {}     # user name -> session id


def log(text):
    print(text, flush=True)


def end_session(sid):
    with lock:
        s = sessions.pop(sid, None)
        if s:
            logged_in.pop(s["user"], None)
            if s["handler"].sid == sid:
                s["handler"].sid = None
            log("session %s (%s) ended" % (sid, s["user"]))
        return s


class Handler(socketserver.StreamRequestHandler):
    def setup(self):
        super().setup()
        self.sid = None
        self.wlock = threading.Lock()

    def send(self, mtype, payload):
        body = json.dumps(payload)
        line = json.dumps({"mtype": mtype, "payload": payload, "version": "1.0.0", "sz": len(body.encode())})
        with self.wlock:
            try:
                self.wfile.write((line + "\n").encode())
                self.wfile.flush()
            except OSError:
                pass

    def error(self, sid, code, text):
        self.send(ERROR, {"id": sid, "error_code": code, "message": text})

    def handle(self):
        try:
            for raw in self.rfile:
                raw = raw.strip()
                if not raw:
                    continue
                try:
                    msg = json.loads(raw)
                    mtype = msg["mtype"]
                    payload = msg.get("payload") or {}
                except (ValueError, KeyError, TypeError):
                    self.error(None, ERR_BAD_MESSAGE, "malformed message")
                    continue
                with lock:
                    self.dispatch(mtype, payload)
        except OSError:
            pass
        finally:
            if self.sid is not None:
                end_session(self.sid)

    def dispatch(self, mtype, payload):
        if mtype == VERSION_REQUEST:
            offered = payload.get("supported_versions") or []
            common = [v for v in SUPPORTED if v in offered]
            if common:
                self.send(VERSION_RESPONSE, {"selected_version": common[0], "success": True})
            else:
                self.send(VERSION_RESPONSE, {"selected_version": None, "success": False})
                self.error(None, ERR_VERSION, "unsupported version (server speaks %s)" % ", ".join(SUPPORTED))
        elif mtype == LOGIN_REQUEST:
            user, pw = payload.get("username"), payload.get("password")
            if USERS.get(user) != pw or user is None:
                self.send(LOGIN_RESPONSE, {"auth": 1, "id": None})
            elif user in logged_in or self.sid is not None:
                self.error(None, ERR_ELSEWHERE, "user is logged in from another location")
            else:
                sid = uuid.uuid4().hex
                sessions[sid] = {"user": user, "handler": self, "seen": time.monotonic()}
                logged_in[user] = sid
                self.sid = sid
                log("session %s (%s) started" % (sid, user))
                self.send(LOGIN_RESPONSE, {"auth": 0, "id": sid})
        elif mtype in (CHAT_MESSAGE, PING):
            sid = payload.get("id")
            if self.sid is None or sid != self.sid or sid not in sessions:
                self.error(sid, ERR_NO_SESSION, "session not found")
                return
            sessions[sid]["seen"] = time.monotonic()
            if mtype == CHAT_MESSAGE:
                self.send(CHAT_MESSAGE, {"id": sid, "time": payload.get("time"), "message": payload.get("message")})
        elif mtype == LOGOUT:
            sid = payload.get("id")
            if sid not in sessions:
                self.error(sid, ERR_NO_SESSION, "session not found")
                return
            end_session(sid)
        else:
            self.error(payload.get("id"), ERR_BAD_MESSAGE, "unknown message type %r" % (mtype,))


def reaper(timeout):
    while True:
        time.sleep(min(0.1, timeout / 4))
        now = time.monotonic()
        with lock:
            for sid, s in list(sessions.items()):
                if now - s["seen"] > timeout:
                    h = s["handler"]
                    end_session(sid)
                    h.error(sid, ERR_TIMEOUT, "session timed out")
                    try:
                        h.request.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--timeout", type=float, default=30.0, help="heartbeat timeout in seconds")
    args = ap.parse_args()

    server = Server(("127.0.0.1", args.port), Handler)
    threading.Thread(target=reaper, args=(args.timeout,), daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())

    def console():
        for line in sys.stdin:
            if line.strip() == "shutdown":
                stop.set()
                return
        # end of stdin: keep serving

    threading.Thread(target=console, daemon=True).start()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log("Server ready on port %d (timeout %.3f s)" % (args.port, args.timeout))
    while not stop.wait(0.2):
        pass
    server.shutdown()
    server.server_close()
    log("Server shut down")


if __name__ == "__main__":
    main()
