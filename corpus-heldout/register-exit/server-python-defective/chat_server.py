#!/usr/bin/env python3
"""Routing chat server, JSON lines wire.

Every message is one JSON object on one line:
    {"To": "...", "From": "...", "Content": "...", "Register": false, "Exit": false}
The port comes from the CHAT_PORT environment variable (default 9000).
Stop it with SIGTERM (or Ctrl+C): every client is told with an Exit message.
"""
import json
import os
import signal
import socket
import sys
import threading

FIELDS = ("To", "From", "Content", "Register", "Exit")
MAX_LINE = 1 << 20

registry = {}            # name -> Conn
connections = set()      # every open Conn
state_lock = threading.Lock()
stopping = threading.Event()


def log(text):
    print(text, flush=True)


class Conn:
    def __init__(self, sock, addr):
        self.sock = sock
        self.addr = addr
        self.name = None
        self.write_lock = threading.Lock()

    def send(self, **fields):
        msg = {"To": "", "From": "", "Content": "", "Register": False, "Exit": False}
        msg.update(fields)
        data = (json.dumps(msg) + "\n").encode("utf-8")
        with self.write_lock:
            self.sock.sendall(data)

    def error(self, text):
        try:
            self.send(To=self.name or "", From="Error", Content=text)
        except OSError:
            pass

    def lines(self):
        buf = b""
        while True:
            chunk = self.sock.recv(4096)
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                yield line
            if len(buf) > MAX_LINE:
                return


def as_text(value):
    return value if isinstance(value, str) else ""


def handle(conn):
    try:
        for raw in conn.lines():
            raw = raw.strip()
            if not raw:
                continue
            try:
                msg = json.loads(raw.decode("utf-8"))
                if not isinstance(msg, dict):
                    raise ValueError
            except ValueError:
                conn.error("Malformed message")
                continue

            if msg.get("Exit"):
                name = as_text(msg.get("From")) or conn.name
                with state_lock:
                    registry.pop(name, None)
                log(f"{name} exited")
                return

            if conn.name is None:
                name = as_text(msg.get("From")).strip()
                if not msg.get("Register") or not name:
                    conn.error("You must register a user name first")
                    continue
                if name in ("Error", "Server"):
                    conn.error(f"The name {name} is reserved")
                    return
                with state_lock:
                    taken = name in registry
                    if not taken:
                        registry[name] = conn
                        conn.name = name
                if taken:
                    conn.error(f"The name {name} is already in use")
                    return
                log(f"registered {name} from {conn.addr[0]}:{conn.addr[1]}")
                continue

            if msg.get("Register"):
                conn.error(f"You are already registered as {conn.name}")
                continue

            to = as_text(msg.get("To"))
            with state_lock:
                target = registry.get(to)
            if target is None:
                conn.error("That user is not connected to this server")
                continue
            try:
                target.send(To=to, From=conn.name, Content=as_text(msg.get("Content")))
            except OSError:
                conn.error("That user is not connected to this server")
    except OSError:
        pass
    finally:
        with state_lock:
            connections.discard(conn)
            if conn.name is not None and registry.get(conn.name) is conn:
                del registry[conn.name]
        try:
            conn.sock.close()
        except OSError:
            pass


def accept_loop(server):
    while not stopping.is_set():
        try:
            sock, addr = server.accept()
        except OSError:
            continue
        conn = Conn(sock, addr)
        with state_lock:
            connections.add(conn)
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def main():
    port = int(os.environ.get("CHAT_PORT", "9000"))
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind(("0.0.0.0", port))
    except OSError as exc:
        print(f"cannot listen on port {port}: {exc}", file=sys.stderr)
        sys.exit(1)
    server.listen(64)
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    threading.Thread(target=accept_loop, args=(server,), daemon=True).start()
    log(f"chat server listening on port {port}")

    while not stopping.wait(0.5):
        pass

    with state_lock:
        everyone = list(connections)
    for conn in everyone:
        try:
            conn.send(To=conn.name or "", From="Server", Content="Server is shutting down", Exit=True)
        except OSError:
            pass
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)
            conn.sock.close()
        except OSError:
            pass
    server.close()
    log("chat server stopped")


if __name__ == "__main__":
    main()
