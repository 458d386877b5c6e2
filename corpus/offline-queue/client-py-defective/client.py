#!/usr/bin/python3
"""Command-line client for the offline-queue chat server (length-delimited protobuf).

Usage: /usr/bin/python3 client.py HOST PORT

Commands (one per line):
    create NAME        login NAME         send USER TEXT...
    check              delete             list [PATTERN]
    quit               help
"""
import os
import socket
import sys
import threading

import offline_queue_pb2 as pb

VERSION = "0.1"

OK_CODES = {1, 3, 11, 13, 16}
ERROR_CODES = {2, 4, 5, 7, 9, 12, 14, 15, 18}

HELP = """commands:
  create NAME       make a new account
  login NAME        log in to an account
  send USER TEXT    send TEXT to USER (queued if USER is offline)
  check             fetch and clear your unread messages
  delete            delete the account you are logged in to
  list [PATTERN]    list accounts; '*' = any run, '_' = one character
  quit              log out and leave"""


def encode_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def entries(text):
    """'sender:text\\n' records -> list of (sender, text)."""
    out = []
    for rec in text.split("\n"):
        if rec == "":
            continue
        sender, _, body = rec.partition(":")
        out.append((sender, body))
    return out


class Client:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.wlock = threading.Lock()
        self.reply = threading.Event()
        self.me = None
        self.pending_login = None
        self.closed = False

    def request(self, opcode, receiver="", msg=""):
        m = pb.Client2Server(version=VERSION, opcode=opcode, sender=self.me or "",
                             receiver=receiver, msg=msg)
        data = m.SerializeToString()
        self.reply.clear()
        with self.wlock:
            self.sock.sendall(encode_varint(len(data)) + data)
        # one request at a time, so replies come out in the order typed
        self.reply.wait(timeout=10)

    # -------------------------------------------------- receiving side
    def read_loop(self):
        buf = b""
        try:
            while True:
                # parse length prefix
                while True:
                    length, shift, i, done = 0, 0, 0, False
                    while i < len(buf):
                        b = buf[i]
                        length |= (b & 0x7F) << shift
                        shift += 7
                        i += 1
                        if not b & 0x80:
                            done = True
                            break
                    if done and len(buf) - i >= length:
                        frame, buf = buf[i:i + length], buf[i + length:]
                        m = pb.Server2Client()
                        m.ParseFromString(frame)
                        self.show(m)
                        continue
                    break
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except OSError:
            pass
        if not self.closed:
            say("[closed] the server closed the connection")
            os._exit(1)

    def show(self, m):
        op, text = m.opcode, m.msg
        if op == 17:
            for sender, body in entries(text):
                say("[message] %s: %s" % (sender, body))
            return
        if op == 6:
            got = entries(text)
            say("[inbox] %d unread" % len(got))
            for sender, body in got:
                say("[inbox] %s: %s" % (sender, body))
        elif op == 8:
            got = entries(text)
            say("[deleted] account deleted, %d unread" % len(got))
            for sender, body in got:
                say("[deleted] %s: %s" % (sender, body))
            self.me = None
        elif op == 10:
            names = [n for n in text.split("\n") if n]
            say("[list] %d account(s)" % len(names))
            for n in names:
                say("[list] %s" % n)
        elif op in OK_CODES:
            say("[ok %d] %s" % (op, text))
        elif op in ERROR_CODES:
            say("[error %d] %s" % (op, text))
        else:
            say("[reply %d] %s" % (op, text))
        if op in (13, 15, 16) and self.pending_login:
            self.me = self.pending_login
        if op == 11:
            self.me = None
        self.reply.set()

    # -------------------------------------------------- console side
    def run(self):
        threading.Thread(target=self.read_loop, daemon=True).start()
        say("connected; type 'help' for commands")
        while True:
            sys.stdout.write("> ")
            sys.stdout.flush()
            line = sys.stdin.readline()
            if not line:
                break
            line = line.rstrip("\r\n")
            parts = line.split()
            if not parts:
                continue
            cmd = parts[0].lower()
            if cmd == "help":
                say(HELP)
            elif cmd == "create" and len(parts) >= 2:
                self.request(1, msg=line.split(maxsplit=1)[1])
            elif cmd == "login" and len(parts) >= 2:
                self.pending_login = line.split(maxsplit=1)[1]
                self.request(2, msg=self.pending_login)
            elif cmd == "send" and len(parts) >= 3:
                self.request(3, receiver=parts[1], msg=parts[2])
            elif cmd == "check":
                self.request(4)
            elif cmd == "delete":
                self.request(5)
            elif cmd == "list":
                self.request(6, msg=line.split(maxsplit=1)[1] if len(parts) > 1 else "")
            elif cmd == "quit":
                self.request(7)
                break
            else:
                say("[usage] unknown command or missing argument; type 'help'")
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


def main():
    if len(sys.argv) != 3:
        print("usage: client.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    try:
        c = Client(sys.argv[1], int(sys.argv[2]))
    except OSError as e:
        print("cannot connect: %s" % e, file=sys.stderr)
        sys.exit(1)
    c.run()


if __name__ == "__main__":
    main()
