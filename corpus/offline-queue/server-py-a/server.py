#!/usr/bin/python3
"""offline-queue chat server (seed 004 protocol), length-delimited protobuf framing.

Usage: /usr/bin/python3 server.py PORT

Every message on the wire is a varint length followed by a serialized
Client2Server / Server2Client (proto3, version "0.1").  One thread per
connection; all account state lives behind one lock.
"""
import queue
import signal
import socket
import sys
import threading

import offline_queue_pb2 as pb

VERSION = "0.1"
MAX_NAME = 25
MAX_MSG = 100
MAX_PATTERN = 100
MAX_FRAME = 1024 * 1024

# client opcodes
C_CREATE, C_LOGIN, C_SEND, C_CHECK, C_DELETE, C_LIST, C_QUIT = range(1, 8)
# server opcodes
S_CREATED = 1
S_NAME_EXISTS = 2
S_SENT = 3
S_SEND_NOT_LOGGED_IN = 4
S_NO_RECIPIENT = 5
S_UNREAD = 6
S_CHECK_NOT_LOGGED_IN = 7
S_DELETED = 8
S_DELETE_REFUSED = 9
S_LIST = 10
S_LOGGED_OUT = 11
S_QUIT_NOT_LOGGED_IN = 12
S_LOGGED_IN = 13
S_NO_ACCOUNT = 14
S_ALREADY = 15
S_SWITCHED = 16
S_PUSH = 17
S_LIST_FAILED = 18


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- framing

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


class FrameReader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def next_frame(self):
        while True:
            length, shift, i = 0, 0, 0
            complete = False
            while i < len(self.buf):
                b = self.buf[i]
                length |= (b & 0x7F) << shift
                shift += 7
                i += 1
                if not b & 0x80:
                    complete = True
                    break
                if shift > 35:
                    raise ValueError("bad length prefix")
            if complete:
                if length > MAX_FRAME:
                    raise ValueError("frame of %d bytes is too large" % length)
                if len(self.buf) - i >= length:
                    frame = self.buf[i:i + length]
                    self.buf = self.buf[i + length:]
                    return frame
            self._fill()


# ---------------------------------------------------------------- patterns

def wildcard_match(pattern, name):
    """Shell-style match: '*' any run (also empty), '_' exactly one character,
    everything else literal.  Greedy two-pointer walk with one backtrack point,
    O(len(pattern) * len(name)) in the worst case, so no pattern can make it spin."""
    p = n = 0
    star = -1
    mark = 0
    while n < len(name):
        if p < len(pattern) and (pattern[p] == "_" or pattern[p] == name[n]) and pattern[p] != "*":
            p += 1
            n += 1
        elif p < len(pattern) and pattern[p] == "*":
            star = p
            mark = n
            p += 1
        elif star != -1:
            p = star + 1
            mark += 1
            n = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


# ---------------------------------------------------------------- state

class Account:
    def __init__(self, name):
        self.name = name
        self.session = None      # Session currently logged in, or None
        self.queue = []          # list of (sender, text)


class Session:
    """One connection.  Everything written to it goes through an outbox served
    by its own writer thread, so a peer that stops reading never blocks the
    rest of the server, and replies and pushes keep their order."""

    def __init__(self, sock, addr):
        self.sock = sock
        self.addr = addr
        self.account = None      # name
        self.dead = False
        self.outbox = queue.Queue()
        self.writer = threading.Thread(target=self._write_loop, daemon=True)
        self.writer.start()

    def send(self, opcode, msg=""):
        self.outbox.put((opcode, msg, None))

    def push(self, account, sender, text):
        self.outbox.put((S_PUSH, "%s:%s\n" % (sender, text), (account, sender, text)))

    def close(self):
        self.outbox.put(None)

    def _write_loop(self):
        while True:
            item = self.outbox.get()
            if item is None:
                return
            opcode, msg, pushed = item
            data = pb.Server2Client(version=VERSION, opcode=opcode, msg=msg).SerializeToString()
            try:
                if self.dead and pushed is not None:
                    # the reader saw the peer go away: a push written now
                    # would vanish, keep it queued instead
                    raise OSError("connection already gone")
                self.sock.sendall(encode_varint(len(data)) + data)
            except OSError:
                self.dead = True
                self._requeue(pushed)
                return

    def _requeue(self, first):
        """The connection failed: every push not yet written goes back to the
        front of its account's queue, in order."""
        lost = [first] if first is not None else []
        with state_lock:
            # drained under the lock: a sender that saw us alive has already
            # put its push in the outbox, and no later one will (we are dead)
            while True:
                try:
                    item = self.outbox.get_nowait()
                except queue.Empty:
                    break
                if item is not None and item[2] is not None:
                    lost.append(item[2])
            go_offline(self)
            back = {}
            for account, sender, text in lost:
                back.setdefault(account, []).append((sender, text))
            for account, items in back.items():
                acct = accounts.get(account)
                if acct is not None:
                    acct.queue[0:0] = items

    def looks_alive(self):
        """A peer that closed (or reset) its end shows up as a readable socket
        with nothing to read.  Peek without consuming anything."""
        if self.dead:
            return False
        try:
            data = self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        return len(data) > 0


accounts = {}                    # name -> Account, insertion order kept
state_lock = threading.Lock()


def fmt_queue(queue):
    return "".join("%s:%s\n" % (s, t) for s, t in queue)


def go_offline(session):
    """Caller holds state_lock."""
    if session.account is not None:
        acct = accounts.get(session.account)
        if acct is not None and acct.session is session:
            acct.session = None
        session.account = None


# ---------------------------------------------------------------- handlers

def handle(session, req):
    op = req.opcode
    if op == C_CREATE:
        name = req.msg
        if not name or len(name) > MAX_NAME:
            return S_NAME_EXISTS, "Refused: account names are 1 to %d characters" % MAX_NAME
        if ":" in name or "\n" in name:
            return S_NAME_EXISTS, "Refused: account names cannot contain ':' or line breaks"
        with state_lock:
            if name in accounts:
                return S_NAME_EXISTS, "Refused: the name '%s' is already taken" % name
            accounts[name] = Account(name)
        return S_CREATED, "Account '%s' created" % name

    if op == C_LOGIN:
        name = req.msg
        kicked = None
        with state_lock:
            acct = accounts.get(name)
            if acct is None:
                return S_NO_ACCOUNT, "No account named '%s'" % name
            if session.account == name:
                return S_ALREADY, "You are already logged in as '%s'" % name
            previous = session.account
            go_offline(session)
            if acct.session is not None and acct.session is not session:
                kicked = acct.session
                kicked.account = None
            acct.session = session
            session.account = name
        if kicked is not None:
            kicked.send(S_LOGGED_OUT, "Logged out: '%s' was logged in from another place" % name)
        if previous is not None:
            return S_SWITCHED, "Switched from '%s' to '%s'" % (previous, name)
        return S_LOGGED_IN, "Logged in as '%s'" % name

    if op == C_SEND:
        with state_lock:
            me = session.account
            if me is None:
                return S_SEND_NOT_LOGGED_IN, "Log in before sending messages"
            target = accounts.get(req.receiver)
            if target is None:
                return S_NO_RECIPIENT, "No account named '%s'" % req.receiver
            if len(req.msg) > MAX_MSG:
                return S_NO_RECIPIENT, "Refused: messages are at most %d characters (got %d)" % (MAX_MSG, len(req.msg))
            # Keep per-pair order: if something from me is still waiting in the
            # recipient's queue, this one waits behind it.
            earlier = any(s == me for s, _ in target.queue)
            rcpt = target.session
            delivered = False
            if rcpt is not None and not earlier:
                if rcpt.looks_alive():
                    rcpt.push(target.name, me, req.msg)
                    delivered = True
                else:
                    rcpt.dead = True
                    go_offline(rcpt)
            if not delivered:
                target.queue.append((me, req.msg))
        if delivered:
            return S_SENT, "Delivered to '%s'" % req.receiver
        return S_SENT, "Queued for '%s'" % req.receiver

    if op == C_CHECK:
        with state_lock:
            if session.account is None:
                return S_CHECK_NOT_LOGGED_IN, "Log in before checking messages"
            acct = accounts[session.account]
            text = fmt_queue(acct.queue)
            acct.queue = []
        return S_UNREAD, text

    if op == C_DELETE:
        with state_lock:
            if session.account is None:
                return S_DELETE_REFUSED, "Log in to the account you want to delete"
            acct = accounts.pop(session.account)
            acct.session = None
            session.account = None
            text = fmt_queue(acct.queue)
            acct.queue = []
        return S_DELETED, text

    if op == C_LIST:
        pattern = req.msg or "*"
        if len(pattern) > MAX_PATTERN:
            return S_LIST_FAILED, "Pattern too long (at most %d characters)" % MAX_PATTERN
        with state_lock:
            names = [n for n in accounts if wildcard_match(pattern, n)]
        return S_LIST, "".join(n + "\n" for n in names)

    if op == C_QUIT:
        with state_lock:
            if session.account is None:
                return S_QUIT_NOT_LOGGED_IN, "Not logged in, nothing to log out of"
            name = session.account
            go_offline(session)
        return S_LOGGED_OUT, "'%s' is now offline" % name

    log("ignoring unknown opcode", op, "from", session.addr)
    return None


def serve(sock, addr):
    session = Session(sock, addr)
    reader = FrameReader(sock)
    try:
        while True:
            frame = reader.next_frame()
            req = pb.Client2Server()
            try:
                req.ParseFromString(frame)
            except Exception:
                log("unparseable frame from", addr)
                continue
            result = handle(session, req)
            if result is not None:
                session.send(*result)
    except (EOFError, OSError, ValueError) as e:
        if not isinstance(e, EOFError):
            log("connection", addr, "dropped:", e)
    finally:
        session.dead = True
        with state_lock:
            go_offline(session)
        session.close()
        session.writer.join(timeout=5)
        try:
            sock.close()
        except OSError:
            pass


def main():
    if len(sys.argv) != 2:
        print("usage: server.py PORT", file=sys.stderr)
        sys.exit(2)
    port = int(sys.argv[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(64)
    print("offline-queue server listening on 127.0.0.1:%d" % port, flush=True)
    try:
        while True:
            conn, addr = lsock.accept()
            t = threading.Thread(target=serve, args=(conn, addr), daemon=True)
            t.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        lsock.close()


if __name__ == "__main__":
    main()
