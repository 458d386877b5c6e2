#!/usr/bin/env python3
"""Chat server with accounts and offline queues (protobuf over TCP).

    python3 queue_server.py --port PORT [--raw]

Framing: by default every protobuf message is preceded by its length as a
varint. With --raw, messages are written with no prefix (one per write) and
the server splits what it reads back into messages itself.
"""
import argparse
import select
import signal
import socket
import sys
import threading

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

VERSION = "0.1"
MAX_NAME, MAX_MSG, MAX_PATTERN = 25, 100, 100
MAX_FRAME = 64 * 1024


def build_messages():
    T = descriptor_pb2.FieldDescriptorProto
    f = descriptor_pb2.FileDescriptorProto(name="chat.proto", package="chat", syntax="proto3")
    specs = {
        "Client2Server": [("version", T.TYPE_STRING), ("opcode", T.TYPE_INT32), ("sender", T.TYPE_STRING),
                          ("receiver", T.TYPE_STRING), ("msg", T.TYPE_STRING)],
        "Server2Client": [("version", T.TYPE_STRING), ("opcode", T.TYPE_INT32), ("msg", T.TYPE_STRING)],
    }
    for name, fields in specs.items():
        m = f.message_type.add(name=name)
        for number, (fname, ftype) in enumerate(fields, 1):
            m.field.add(name=fname, number=number, type=ftype, label=T.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    factory = message_factory.MessageFactory(pool)
    return (factory.GetPrototype(pool.FindMessageTypeByName("chat.Client2Server")),
            factory.GetPrototype(pool.FindMessageTypeByName("chat.Server2Client")))


Client2Server, Server2Client = build_messages()

# server opcodes
CREATED, NAME_EXISTS, SENT, SEND_NOT_LOGGED, NO_RECIPIENT, UNREAD, CHECK_NOT_LOGGED = 1, 2, 3, 4, 5, 6, 7
DELETED, DELETE_REFUSED, LIST_RESULT, LOGGED_OUT, QUIT_NOT_LOGGED, LOGGED_IN = 8, 9, 10, 11, 12, 13
NO_ACCOUNT, ALREADY_IN, SWITCHED, PUSH, LIST_FAILED = 14, 15, 16, 17, 18


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(buf, i):
    """Returns (value, next index) or None if buf ends inside the varint."""
    shift = value = 0
    while i < len(buf):
        b = buf[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")
    return None


def split_raw(buf):
    """Split unframed protobuf bytes into messages.

    Encoders write fields in increasing number order, so a field number that
    does not increase starts the next message. Returns (messages, rest) where
    rest is an incomplete tail to keep for the next read."""
    msgs, start, i, last = [], 0, 0, 0
    while i < len(buf):
        r = read_varint(buf, i)
        if r is None:
            break
        key, j = r
        field, wtype = key >> 3, key & 7
        if field == 0:
            raise ValueError("bad field number")
        if field <= last:
            msgs.append(buf[start:i])
            start, last = i, 0
        if wtype == 0:
            r = read_varint(buf, j)
            if r is None:
                break
            j = r[1]
        elif wtype == 2:
            r = read_varint(buf, j)
            if r is None or r[1] + r[0] > len(buf):
                break
            j = r[1] + r[0]
        elif wtype in (1, 5):
            j += 8 if wtype == 1 else 4
            if j > len(buf):
                break
        else:
            raise ValueError("bad wire type")
        last, i = field, j
    else:
        if start < len(buf):
            msgs.append(buf[start:])
        return msgs, b""
    return msgs, buf[start:]


class Account:
    def __init__(self, name):
        self.name = name
        self.queue = []        # "sender:text\n" strings, oldest first
        self.session = None    # Session when online


class Session:
    def __init__(self, sock, raw):
        self.sock = sock
        self.raw = raw
        self.account = None    # name of the account logged in here
        self.wlock = threading.Lock()

    def send(self, opcode, text=""):
        data = Server2Client(version=VERSION, opcode=opcode, msg=text).SerializeToString()
        if not self.raw:
            data = varint(len(data)) + data
        with self.wlock:
            view = memoryview(data)
            while view:
                _, ready, _ = select.select([], [self.sock], [], 2.0)
                if not ready:
                    raise OSError("peer is not reading")
                view = view[self.sock.send(view):]

    def looks_alive(self):
        """False when the peer has already closed or reset the connection."""
        try:
            return self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
        except BlockingIOError:
            return True
        except OSError:
            return False

    def requests(self):
        buf = b""
        while True:
            data = self.sock.recv(4096)
            if not data:
                return
            buf += data
            if self.raw:
                try:
                    msgs, buf = split_raw(buf)
                except ValueError:
                    self.send(0, "Malformed request")
                    buf = b""
                    continue
                if len(buf) > MAX_FRAME:
                    self.send(0, "Request too large")
                    return
                yield from msgs
            else:
                while True:
                    r = read_varint(buf, 0)
                    if r is None:
                        break
                    size, start = r
                    if size > MAX_FRAME:
                        self.send(0, "Request too large")
                        return
                    if len(buf) < start + size:
                        break
                    yield buf[start:start + size]
                    buf = buf[start + size:]


accounts = {}
lock = threading.RLock()


def wildcard(pattern, name):
    """Shell-style match: * any run, ? or _ one character. Linear backtracking only."""
    p = n = 0
    star, mark = -1, 0
    while n < len(name):
        if p < len(pattern) and (pattern[p] in "?_" or pattern[p] == name[n]):
            p += 1
            n += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark = p, n
            p += 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            n = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def go_offline(account):
    acc = accounts.get(account)
    if acc is not None:
        acc.session = None


def handle_request(s, req):
    op = req.opcode
    me = s.account
    if op == 1:
        name = req.msg
        if not name or len(name) > MAX_NAME or any(c.isspace() or c == ":" for c in name):
            return s.send(NAME_EXISTS, f"Invalid account name (1-{MAX_NAME} characters, no spaces or ':')")
        if name in accounts:
            return s.send(NAME_EXISTS, f"Account {name} already exists")
        accounts[name] = Account(name)
        return s.send(CREATED, f"Account {name} created")
    if op == 2:
        acc = accounts.get(req.msg)
        if acc is None:
            return s.send(NO_ACCOUNT, f"No account named {req.msg}")
        if me == acc.name:
            return s.send(ALREADY_IN, f"Already logged in as {me}")
        if acc.session is not None and acc.session is not s:
            acc.session.account = None          # the other session is logged out
        if me is not None:
            go_offline(me)
        acc.session, s.account = s, acc.name
        if me is not None:
            return s.send(SWITCHED, f"Switched from {me} to {acc.name}")
        return s.send(LOGGED_IN, f"Logged in as {acc.name}")
    if op == 3:
        if me is None:
            return s.send(SEND_NOT_LOGGED, "You must log in first")
        target = accounts.get(req.receiver)
        if target is None:
            return s.send(NO_RECIPIENT, f"No account named {req.receiver}")
        if len(req.msg) > MAX_MSG:
            return s.send(NO_RECIPIENT, f"Message too long (at most {MAX_MSG} characters)")
        line = f"{me}:{req.msg}\n"
        peer = target.session
        if peer is not None:
            try:
                if not peer.looks_alive():
                    raise OSError("peer gone")
                peer.send(PUSH, line)
                delivered = True
            except OSError:
                target.session = None        # dead connection: the message is queued instead
                peer.account = None
                delivered = False
            if delivered:
                return s.send(SENT, f"Message delivered to {target.name}")
        target.queue.append(line)
        return s.send(SENT, f"Message queued for {target.name}")
    if op == 4:
        if me is None:
            return s.send(CHECK_NOT_LOGGED, "You must log in first")
        acc = accounts[me]
        text, acc.queue = "".join(acc.queue), []
        return s.send(UNREAD, text)
    if op == 5:
        if me is None:
            return s.send(DELETE_REFUSED, "You must log in first")
        acc = accounts.pop(me)
        s.account = None
        return s.send(DELETED, "".join(acc.queue))
    if op == 6:
        if len(req.msg) > MAX_PATTERN:
            return s.send(LIST_FAILED, f"Pattern too long (at most {MAX_PATTERN} characters)")
        pattern = req.msg or "*"
        names = sorted(n for n in accounts if wildcard(pattern, n))
        return s.send(LIST_RESULT, "".join(n + "\n" for n in names))
    if op == 7:
        if me is None:
            return s.send(QUIT_NOT_LOGGED, "You are not logged in")
        go_offline(me)
        s.account = None
        return s.send(LOGGED_OUT, f"{me} logged out")
    return s.send(0, f"Unknown opcode {op}")


def serve(sock, raw):
    s = Session(sock, raw)
    try:
        for frame in s.requests():
            req = Client2Server()
            try:
                req.ParseFromString(frame)
            except Exception:
                s.send(0, "Malformed request")
                continue
            with lock:
                handle_request(s, req)
    except OSError:
        pass
    finally:
        with lock:
            if s.account is not None:
                acc = accounts.get(s.account)
                if acc is not None and acc.session is s:
                    acc.session = None
        sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--raw", action="store_true", help="no length prefix (the original framing)")
    args = ap.parse_args()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", args.port))
    srv.listen(64)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def accept_loop():
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=serve, args=(conn, args.raw), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    framing = "raw" if args.raw else "varint-delimited"
    print(f"Server ready on port {args.port} ({framing} framing)", flush=True)
    while not stop.wait(0.5):
        pass
    print("Server shutting down", flush=True)
    srv.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
