#!/usr/bin/python3
"""register-exit routing server, JSON-lines flavour.

Usage:  /usr/bin/python3 server.py PORT

Every message is one JSON object per line:
    {"To": "...", "From": "...", "Content": "...", "Register": false, "Exit": false}

Type `quit` on the console to shut down (every client gets an Exit message);
SIGTERM does the same.  End of console input does NOT stop the server.

Identity is bound to the socket: a connection registers once, after that its
From field is ignored and replaced by the registered name, and an Exit that
names another user is refused.  A name that is in use cannot be taken; the
connection that tried stays open, unregistered, and may register another name.
"""
import json
import os
import signal
import socket
import struct
import sys
import threading

MAX_LINE = 64 * 1024
SEND_TIMEOUT = 5.0

registry = {}            # name -> Conn
everyone = set()         # all open Conn objects
lock = threading.Lock()
stopping = threading.Event()


def make(to="", frm="", content="", register=False, exit_=False):
    return {"To": to, "From": frm, "Content": content,
            "Register": register, "Exit": exit_}


class Conn:
    def __init__(self, sock, addr):
        self.sock = sock
        self.addr = addr
        self.name = None
        self.wlock = threading.Lock()
        self.closed = False

    def push(self, msg):
        data = (json.dumps(msg, ensure_ascii=False) + "\n").encode("utf-8")
        with self.wlock:
            if self.closed:
                raise OSError("connection closed")
            self.sock.sendall(data)

    def close(self):
        with self.wlock:
            if self.closed:
                return
            self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def log(*a):
    print("[srv]", *a, file=sys.stderr, flush=True)


def forget(c):
    with lock:
        if c.name is not None and registry.get(c.name) is c:
            del registry[c.name]
            log("unregistered", c.name)
        everyone.discard(c)
    c.close()


def tell_error(c, text):
    try:
        c.push(make(frm="Error", content=text))
    except OSError:
        forget(c)


def field(msg, key, kind):
    v = msg.get(key)
    if v is None:
        return kind()
    if not isinstance(v, kind):
        raise ValueError("field %s has the wrong type" % key)
    return v


def serve(c):
    f = c.sock.makefile("rb")
    try:
        while True:
            line = f.readline(MAX_LINE + 1)
            if not line:
                break
            if len(line) > MAX_LINE:
                log(c.addr, "line too long, dropping client")
                break
            if not line.strip():
                continue
            try:
                msg = json.loads(line.decode("utf-8"))
                if not isinstance(msg, dict):
                    raise ValueError("not an object")
                to = field(msg, "To", str)
                frm = field(msg, "From", str)
                content = field(msg, "Content", str)
                register = field(msg, "Register", bool)
                leave = field(msg, "Exit", bool)
            except (ValueError, UnicodeDecodeError) as e:
                tell_error(c, "Bad message: %s" % e)
                continue

            if register:
                if c.name is not None:
                    tell_error(c, "Already registered as %s" % c.name)
                    continue
                if not frm.strip() or frm in ("Error", "Server"):
                    tell_error(c, "Invalid user name")
                    continue
                with lock:
                    taken = frm in registry
                    if not taken:
                        registry[frm] = c
                        c.name = frm
                if taken:
                    tell_error(c, "The name %s is taken, pick another one" % frm)
                else:
                    log("registered", frm, c.addr)
                continue

            if leave:
                if c.name is None:
                    break
                if frm and frm != c.name:
                    tell_error(c, "Exit refused: you are %s, not %s" % (c.name, frm))
                    continue
                break

            if c.name is None:
                tell_error(c, "Not registered yet")
                continue
            with lock:
                dest = registry.get(to)
            if dest is None:
                tell_error(c, "User %s is not connected to this server" % to)
                continue
            try:
                dest.push(make(to=to, frm=c.name, content=content))
            except OSError:
                forget(dest)
                tell_error(c, "User %s is not connected to this server" % to)
    except OSError:
        pass
    finally:
        f.close()
        forget(c)


def shutdown():
    if stopping.is_set():
        return
    stopping.set()
    log("shutting down")
    with lock:
        conns = list(everyone)
    for c in conns:
        try:
            c.push(make(frm="Server", content="server shutting down", exit_=True))
        except OSError:
            pass
        c.close()
    os._exit(0)


def console():
    for line in sys.stdin:
        if line.strip().lower() == "quit":
            shutdown()
    # console closed: keep serving until SIGTERM


def main():
    if len(sys.argv) != 2:
        print("usage: server.py PORT", file=sys.stderr)
        sys.exit(2)
    port = int(sys.argv[1])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=shutdown).start())
    threading.Thread(target=console, daemon=True).start()
    while not stopping.is_set():
        try:
            s, addr = ls.accept()
        except InterruptedError:
            continue
        except OSError:
            if stopping.is_set():
                break
            raise
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # a client that stops reading must not block its senders for ever
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                     struct.pack("ll", int(SEND_TIMEOUT), 0))
        c = Conn(s, addr)
        with lock:
            everyone.add(c)
        threading.Thread(target=serve, args=(c,), daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
