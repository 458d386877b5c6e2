#!/usr/bin/python3
"""Two-person chat over the course's key-value IM server (lock alternation).

usage: chat.py SERVER_URL        e.g. http://127.0.0.1:8080/IMserver.php
       (or set IM_URL and give no argument)

Protocol keys (as in the exercise): connected (absent/1/2), lock (1/2), message.
Client 1 sets connected=1 and lock=1 and waits until connected=2; client 2 sets
connected=2. The client whose number is in `lock` types a message, writes `message`,
then hands `lock` to the other, which polls `lock`, reads `message` and shows it.

On top of that this client keeps a lease on its slot, so that the weak spots of the
plain design go away:
  * aliveN ("<random id> <unix time>") is written when a client takes slot N and
    refreshed every second. A slot whose alive key is missing or older than LEASE
    seconds is free, whatever `connected` says (so leftovers of an earlier session
    are ignored, and a crashed client's slot can be taken again).
  * taking a slot is "write aliveN, wait SETTLE, read it back": when two clients try
    at the same time the last writer keeps it, the other sees a foreign id and
    looks again (usually ending as client 2). No more two clients 1.
  * when both slots are live a third client is told the chat is full and exits.
  * while waiting for its turn a client watches the other's alive key; when the
    partner is gone (quit, crashed, killed) it says so, starts a fresh session as
    client 1 and waits for a new partner.
A partner that never writes an alive key (a plain client of the exercise) is
accepted as client 2 and assumed to be alive.

Console: the prompt "you> " is shown when it is your turn; received messages are
printed as "them> <text>"; status lines start with "[info]". Type /quit (or end
the input, or send SIGTERM/SIGINT) to leave.
"""
import os
import secrets
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request

HEARTBEAT = 1.0   # seconds between lease refreshes
LEASE = 4.0       # a lease older than this is dead
SETTLE = 0.5      # wait between claiming a slot and checking we still hold it
POLL = 0.2        # poll interval while waiting


def info(text):
    print("[info] " + text, flush=True)


class Rejoin(Exception):
    """our slot was taken over (we were thought dead): join again"""


class ChatFull(Exception):
    pass


class IMStore:
    def __init__(self, url):
        self.url = url

    def _call(self, **params):
        query = "&".join("%s=%s" % (k, urllib.parse.quote(v, safe="/"))
                         for k, v in params.items())
        with urllib.request.urlopen(self.url + "?" + query) as resp:
            body = resp.read().decode("utf-8", errors="replace")
        # every answer carries one extra newline at the end
        return body[:-1] if body.endswith("\n") else body

    def get(self, key):
        return self._call(action="get", key=key)

    def set(self, key, value):
        self._call(action="set", key=key, value=value)


def lease_owner(value):
    return value.split(" ", 1)[0] if value else ""


def lease_fresh(value):
    try:
        _, stamp = value.split(" ", 1)
        return time.time() - float(stamp) < LEASE
    except ValueError:
        return False


class Client:
    def __init__(self, store):
        self.store = store
        self.id = secrets.token_hex(6)
        self.slot = None          # 1 or 2 once joined
        self.mu = threading.Lock()
        self.evicted = False
        self.stopping = False
        threading.Thread(target=self._heartbeat, daemon=True).start()

    # ---- lease handling -------------------------------------------------
    def _stamp(self):
        return "%s %.3f" % (self.id, time.time())

    def _heartbeat(self):
        while not self.stopping:
            time.sleep(HEARTBEAT)
            with self.mu:
                slot = self.slot
                if slot is None or self.stopping:
                    continue
                try:
                    key = "alive%d" % slot
                    if lease_owner(self.store.get(key)) != self.id:
                        self.evicted = True
                        self.slot = None
                        continue
                    self.store.set(key, self._stamp())
                except OSError:
                    pass  # server hiccup: try again next beat

    def claim(self, slot):
        key = "alive%d" % slot
        self.store.set(key, self._stamp())
        time.sleep(SETTLE)
        if lease_owner(self.store.get(key)) == self.id:
            with self.mu:
                self.slot = slot
                self.evicted = False
            return True
        return False

    def release(self):
        with self.mu:
            slot, self.slot = self.slot, None
        if slot is not None:
            key = "alive%d" % slot
            if lease_owner(self.store.get(key)) == self.id:
                self.store.set(key, "%s 0" % self.id)   # expired at once

    def check_evicted(self):
        if self.evicted:
            self.evicted = False
            raise Rejoin()

    # ---- joining ----------------------------------------------------------
    def join(self):
        while True:
            connected = self.store.get("connected")
            live1 = lease_fresh(self.store.get("alive1"))
            live2 = lease_fresh(self.store.get("alive2"))
            if not live1 and not live2:
                # nobody is here (maybe leftovers): start a new session as client 1
                if self.claim(1):
                    self.store.set("lock", "1")
                    self.store.set("connected", "1")
                    return 1
            elif live1 and not live2:
                if connected == "1" and self.claim(2):
                    self.store.set("connected", "2")
                    return 2
                time.sleep(POLL)
            elif live2 and not live1:
                # a client 2 whose partner just left; it starts over by itself
                time.sleep(POLL)
            else:
                raise ChatFull()

    def wait_for_partner(self):
        info("you are client 1, waiting for a partner to join")
        while self.store.get("connected") != "2":
            self.check_evicted()
            time.sleep(POLL)
        info("partner joined, you go first")

    # ---- chatting ---------------------------------------------------------
    def start(self):
        """join, and as client 1 wait until a partner is there; returns 1 or 2"""
        while True:
            me = self.join()
            if me == 2:
                info("you are client 2, your partner goes first")
                return 2
            try:
                self.wait_for_partner()
                return 1
            except Rejoin:
                info("lost my place in the chat, joining again")

    def run(self):
        me = self.start()
        while True:
            try:
                self.converse(me)
                return
            except Rejoin:
                info("lost my place in the chat, joining again")
            except PartnerGone:
                info("your partner left the chat")
                self.release()
            me = self.start()

    def converse(self, me):
        other = 3 - me
        while True:
            if self.store.get("lock") == str(me):
                try:
                    text = input("you> ")
                except EOFError:
                    return
                if text.strip() == "/quit":
                    return
                self.store.set("message", text)
                self.store.set("lock", str(other))
            else:
                self.wait_turn(me, other)

    def wait_turn(self, me, other):
        seen = False        # has the partner ever shown an alive key?
        next_check = 0.0
        while True:
            self.check_evicted()
            if self.store.get("lock") == str(me):
                print("them> " + self.store.get("message"), flush=True)
                return
            now = time.time()
            if now >= next_check:
                next_check = now + HEARTBEAT
                lease = self.store.get("alive%d" % other)
                if lease:
                    seen = True
                if (lease and not lease_fresh(lease)) or (not lease and seen):
                    # mark it, in case it was only paused and comes back
                    self.store.set("alive%d" % other, "gone 0")
                    raise PartnerGone()
            time.sleep(POLL)

    def leave(self):
        self.stopping = True
        try:
            self.release()
        except OSError:
            pass


class PartnerGone(Exception):
    pass


def main():
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("IM_URL")
    if not url:
        print("usage: chat.py SERVER_URL   (e.g. http://127.0.0.1:8080/IMserver.php)",
              file=sys.stderr)
        return 2

    def on_signal(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, on_signal)

    client = Client(IMStore(url))
    try:
        client.run()
    except ChatFull:
        info("two people are already chatting, try again later")
        client.stopping = True
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        if not client.stopping:
            client.leave()
    info("bye")
    return 0


if __name__ == "__main__":
    sys.exit(main())
