#!/usr/bin/python3
"""Interactive client for the ping-liveness echo chat (JSON lines over TCP).

usage: client.py HOST PORT [--ping SECONDS]

Asks "login: " and "password: ", then every typed line is sent as a chat
message and the server's echo is printed as "echo: <text>". /quit (or end of
input) logs out.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

VERSIONS = ["1.0.0"]

LOGIN_REQUEST, LOGIN_RESPONSE, CHAT_MESSAGE, LOGOUT, ERROR, PING, VERSION_REQUEST, VERSION_RESPONSE = range(1, 9)

QUIT_COMMAND = "/quit"

out_lock = threading.Lock()


def say(text):
    with out_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def ask(prompt):
    with out_lock:
        sys.stdout.write(prompt)
        sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        return None
    return line.rstrip("\r\n")


class Connection:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.rfile = self.sock.makefile("rb")
        self.version = VERSIONS[0]
        self.wlock = threading.Lock()

    def send(self, mtype, payload):
        msg = {"mtype": mtype, "payload": payload, "version": self.version,
               "sz": len(json.dumps(payload))}
        data = (json.dumps(msg) + "\n").encode("utf-8")
        with self.wlock:
            self.sock.sendall(data)

    def recv(self):
        """Next message as (mtype, payload), or None when the server closed."""
        while True:
            line = self.rfile.readline()
            if not line:
                return None
            line = line.strip()
            if not line:
                continue
            try:
                msg = json.loads(line.decode("utf-8"))
            except ValueError:
                continue
            payload = msg.get("payload")
            return msg.get("mtype"), payload if isinstance(payload, dict) else {}

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def negotiate(conn):
    conn.send(VERSION_REQUEST, {"supported_versions": VERSIONS})
    while True:
        m = conn.recv()
        if m is None:
            say("server closed the connection during version negotiation")
            sys.exit(2)
        mtype, p = m
        if mtype == VERSION_RESPONSE:
            if p.get("success") and p.get("selected_version") in VERSIONS:
                conn.version = p["selected_version"]
                return
            say("version negotiation failed")
            sys.exit(2)
        if mtype == ERROR:
            say("version negotiation failed: %s" % p.get("message"))
            sys.exit(2)


def login(conn):
    """Prompts until the server accepts; returns (user, session id)."""
    while True:
        user = ask("login: ")
        if user is None:
            conn.close()
            sys.exit(0)
        password = ask("password: ")
        if password is None:
            conn.close()
            sys.exit(0)
        conn.send(LOGIN_REQUEST, {"username": user, "password": password})
        while True:
            m = conn.recv()
            if m is None:
                say("connection closed by server")
                sys.exit(1)
            mtype, p = m
            if mtype == LOGIN_RESPONSE:
                if p.get("auth") == 0:
                    return user, p.get("id")
                say("wrong user name or password, try again")
                break
            if mtype == ERROR:
                if p.get("error_code") == 3:
                    say("%s is already logged in somewhere else" % user)
                else:
                    say("login error: %s" % p.get("message"))
                break


class Chat:
    def __init__(self, conn, sid, ping_every):
        self.conn = conn
        self.sid = sid
        self.ping_every = ping_every
        self.stop = threading.Event()
        self.logged_out = threading.Event()

    def pinger(self):
        while not self.stop.wait(self.ping_every):
            try:
                self.conn.send(PING, {"id": self.sid})
            except OSError:
                return

    def reader(self):
        while True:
            m = self.conn.recv()
            if m is None:
                if self.stop.is_set():
                    self.logged_out.set()
                    return
                say("connection closed by server")
                os._exit(1)
            mtype, p = m
            if mtype == CHAT_MESSAGE:
                say("echo: %s" % p.get("message"))
            elif mtype == LOGOUT:
                self.logged_out.set()
            elif mtype == ERROR:
                code = p.get("error_code")
                if code == 2:
                    say("session timed out")
                    os._exit(1)
                say("server error %s: %s" % (code, p.get("message")))
            # PING replies and anything else are ignored

    def run(self):
        threading.Thread(target=self.pinger, daemon=True).start()
        threading.Thread(target=self.reader, daemon=True).start()
        while True:
            line = sys.stdin.readline()
            if not line or line.strip() == QUIT_COMMAND:
                break
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            try:
                self.conn.send(CHAT_MESSAGE, {"id": self.sid, "time": time.time(), "message": text})
            except OSError:
                say("connection closed by server")
                os._exit(1)
        self.stop.set()
        try:
            self.conn.send(LOGOUT, {"id": self.sid})
        except OSError:
            pass
        # wait for the acknowledgement or the server closing, whichever comes
        self.logged_out.wait(1.0)
        self.conn.close()
        say("logged out")


def main():
    ap = argparse.ArgumentParser(description="ping-liveness chat client")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--ping", type=float, default=10.0, help="seconds between pings (default 10)")
    args = ap.parse_args()
    try:
        conn = Connection(args.host, args.port)
    except OSError as e:
        say("cannot connect to %s:%d: %s" % (args.host, args.port, e))
        sys.exit(1)
    negotiate(conn)
    user, sid = login(conn)
    say("logged in as %s" % user)
    Chat(conn, sid, args.ping).run()


if __name__ == "__main__":
    main()
