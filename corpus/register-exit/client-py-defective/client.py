#!/usr/bin/python3
"""register-exit chat client, JSON-lines wire.

Usage:  /usr/bin/python3 client.py HOST PORT NAME

Commands (one per line on stdin):
    /msg <user> <text>     send <text> to <user>
    /quit                  tell the server we leave, then exit
Anything else prints a short help on stderr.  End of stdin does not quit: the
client keeps printing what it receives until the server shuts down (or it is
killed).

Output (lines end with CRLF):
    *** registered as NAME           once the registration has been sent
    [FROM] CONTENT                   every message received (errors come From "Error")
    *** server shut down, closing    the server sent Exit
    *** connection lost              the server went away without an Exit
"""
import json
import os
import socket
import sys
import threading

out_lock = threading.Lock()
leaving = threading.Event()


def show(text):
    with out_lock:
        sys.stdout.write(text + "\r\n")
        sys.stdout.flush()


def wire(to="", frm="", content="", register=False, exit_=False):
    return (json.dumps({"To": to, "From": frm, "Content": content,
                        "Register": register, "Exit": exit_}) + "\n").encode("utf-8")


def listen(sock):
    f = sock.makefile("rb")
    try:
        for raw in f:
            try:
                msg = json.loads(raw.decode("utf-8"))
            except ValueError:
                continue
            if not isinstance(msg, dict):
                continue
            if msg.get("Exit"):
                show("*** server shut down, closing")
                os._exit(0)
            show("[%s] %s" % (msg.get("From", ""), msg.get("Content", "")))
    except OSError:
        pass
    if not leaving.is_set():
        show("*** connection lost")
        os._exit(1)


def main():
    if len(sys.argv) != 4:
        print("usage: client.py HOST PORT NAME", file=sys.stderr)
        sys.exit(2)
    host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    send_lock = threading.Lock()

    def send(data):
        with send_lock:
            sock.sendall(data)

    send(wire(frm=name, register=True))
    show("*** registered as %s" % name)
    threading.Thread(target=listen, args=(sock,), daemon=True).start()

    for line in sys.stdin:
        line = line.rstrip("\r\n")
        cmd = line.strip()
        if cmd == "/quit":
            leaving.set()
            try:
                send(wire(frm=name, exit_=True))
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            sock.close()
            os._exit(0)
        if cmd.startswith("/msg "):
            parts = line.split()
            if len(parts) >= 3:
                try:
                    send(wire(to=parts[1], frm=name, content=parts[2]))
                except OSError:
                    show("*** connection lost")
                    os._exit(1)
                continue
        if cmd:
            print("commands: /msg <user> <text> | /quit", file=sys.stderr, flush=True)
    # stdin closed: keep receiving
    threading.Event().wait()


if __name__ == "__main__":
    main()
