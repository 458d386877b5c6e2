#!/usr/bin/env python3
"""Lock-alternation chat client (two people take turns) over the IM key-value store.

Keys of the protocol: connected (absent/1/2), lock (1/2), message.
Extra keys this client uses:
  alive1, alive2  - heartbeat of each client (milliseconds since the epoch)
  join.<id>       - short-lived flags that make joining mutually exclusive
"""
import argparse
import os
import queue
import random
import signal
import sys
import threading
import time
import urllib.request
from urllib.parse import quote, urlsplit


class Store:
    def __init__(self, url):
        if not urlsplit(url).path:
            url += "/"
        self.base = url

    def _call(self, query):
        with urllib.request.urlopen(self.base + "?" + query) as resp:
            body = resp.read().decode("utf-8")
        return body[:-1] if body.endswith("\n") else body

    def get(self, key):
        return self._call("action=get&key=" + quote(key, safe="/"))

    def set(self, key, value):
        self._call("action=set&key=%s&value=%s" % (quote(key, safe="/"), quote(str(value), safe="/")))

    def unset(self, key):
        self._call("action=unset&key=" + quote(key, safe="/"))

    def keys(self):
        return [k for k in self._call("action=keys").split("\n") if k]


def now_ms():
    return int(time.time() * 1000)


class Client:
    def __init__(self, store, timeout):
        self.store = store
        self.timeout_ms = int(timeout * 1000)
        self.me = None
        self.other = None
        self.my_id = "%d-%06d" % (os.getpid(), random.randrange(10**6))
        self.stop_beat = threading.Event()
        self.inbox = queue.Queue()
        self.quit = threading.Event()

    # ---- joining (mutual exclusion with only get/set/keys) ----
    def acquire_join(self):
        """Raise our flag, then look at the others' flags. Enter only when no
        other flag is up; on a tie the smaller id stays and the larger backs off."""
        mine = "join." + self.my_id
        while True:
            self.store.set(mine, now_ms())
            rivals = []
            for k in self.store.keys():
                if k.startswith("join.") and k != mine:
                    stamp = self.store.get(k)
                    if stamp.isdigit() and now_ms() - int(stamp) < 5000:
                        rivals.append(k)
                    else:
                        self.store.unset(k)  # left by a client that died while joining
            if not rivals:
                return
            if min(rivals) < mine:
                self.store.unset(mine)
                time.sleep(random.uniform(0.05, 0.2))
            else:
                time.sleep(0.02)

    def release_join(self):
        self.store.unset("join." + self.my_id)

    def fresh(self, n):
        stamp = self.store.get("alive%d" % n)
        return stamp.isdigit() and now_ms() - int(stamp) <= self.timeout_ms

    def join(self):
        self.acquire_join()
        try:
            connected = self.store.get("connected")
            if connected == "1" and self.fresh(1):
                self.store.set("alive2", now_ms())
                self.store.set("connected", "2")
                self.me = 2
            elif connected == "2" and (self.fresh(1) or self.fresh(2)):
                return False
            else:
                # nobody there, or only keys left by an earlier session
                for k in ("message", "alive2"):
                    self.store.unset(k)
                self.store.set("alive1", now_ms())
                self.store.set("lock", "1")
                self.store.set("connected", "1")
                self.me = 1
        finally:
            self.release_join()
        self.other = 3 - self.me
        return True

    def cleanup(self):
        self.stop_beat.set()
        self.acquire_join()
        try:
            for k in ("connected", "lock", "message", "alive1", "alive2"):
                self.store.unset(k)
        finally:
            self.release_join()

    def heartbeat(self):
        while not self.stop_beat.wait(self.timeout_ms / 6000):
            try:
                self.store.set("alive%d" % self.me, now_ms())
            except OSError:
                pass

    # ---- the chat ----
    def partner_gone(self):
        """None while the partner is there, else 'quit' or 'dead'."""
        if self.store.get("connected") != "2":
            return "quit"
        if not self.fresh(self.other):
            return "dead"
        return None

    def run(self):
        if not self.join():
            print("Server in use by two clients, try again later.", flush=True)
            return 1
        threading.Thread(target=self.heartbeat, daemon=True).start()
        if self.me == 1:
            print("You are client 1. Waiting for client 2 to connect...", flush=True)
            while self.store.get("connected") != "2":
                if self.quit.is_set():
                    self.cleanup()
                    print("Bye.", flush=True)
                    return 0
                time.sleep(0.1)
            print("Client 2 connected.", flush=True)
        else:
            print("You are client 2.", flush=True)

        first_turn = True
        while True:
            # wait for our turn
            announced = False
            while self.store.get("lock") != str(self.me):
                if not announced:
                    print("Waiting for client %d..." % self.other, flush=True)
                    announced = True
                gone = self.check_exit()
                if gone is not None:
                    return gone
                time.sleep(0.1)
            if not (first_turn and self.me == 1):
                print("client %d: %s" % (self.other, self.store.get("message")), flush=True)
            first_turn = False
            print("Your turn to send.", flush=True)
            # wait for the person to type a line
            while True:
                gone = self.check_exit()
                if gone is not None:
                    return gone
                try:
                    line = self.inbox.get(timeout=0.2)
                    break
                except queue.Empty:
                    pass
            self.store.set("message", line)
            self.store.set("lock", str(self.other))

    def check_exit(self):
        if self.quit.is_set():
            self.cleanup()
            print("Bye.", flush=True)
            return 0
        gone = self.partner_gone()
        if gone is None:
            return None
        self.stop_beat.set()
        if gone == "dead":
            self.cleanup()
        print("Partner left.", flush=True)
        return 0


def main():
    ap = argparse.ArgumentParser(description="lock-alternation chat client")
    ap.add_argument("url", help="URL of the key-value store, e.g. http://127.0.0.1:8000/")
    ap.add_argument("--timeout", type=float, default=3.0,
                    help="seconds without a heartbeat after which the partner counts as gone")
    args = ap.parse_args()
    client = Client(Store(args.url), args.timeout)

    def reader():
        for raw in sys.stdin:
            line = raw.rstrip("\r\n")
            if line.strip() == "/quit":
                break
            client.inbox.put(line)
        client.quit.set()

    threading.Thread(target=reader, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *a: client.quit.set())
    signal.signal(signal.SIGINT, lambda *a: client.quit.set())
    try:
        sys.exit(client.run())
    except OSError as e:
        print("Store unreachable: %s" % e, flush=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
