#!/usr/bin/env python3
"""Two-person chat over the course IM key-value server (status / received / message).

Usage:  python3 chat.py http://127.0.0.1:8080/IMserver.php

No prompt is printed: when it is your turn just type a line and press Enter.
Lines typed while the other person still has the turn are kept and sent, in
order, when your turn comes.  Type /quit (or Ctrl-D / Ctrl-C) to leave; the
other side is told that you left.

Extra keys used on top of status/received/message (see impl.json notes):
  claim     - id of the client that is trying to take a slot (re-checked after a pause)
  sender    - id of the client that wrote the current message
  beat_one / beat_two - heartbeat time stamps (unix seconds) of the two clients
"""
import os
import queue
import random
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request

POLL = 0.2      # seconds between polls of the server
BEAT = 1.0      # heartbeat period
LEASE = 5.0     # a heartbeat older than this means the client is gone


class Server:
    def __init__(self, url):
        self.url = url
        self.sep = '&' if '?' in url else '?'

    def call(self, **params):
        query = '&'.join('%s=%s' % (k, urllib.parse.quote(v, safe='/'))
                         for k, v in params.items())
        with urllib.request.urlopen(self.url + self.sep + query) as resp:
            return resp.read().decode('utf-8')

    def get(self, key):
        body = self.call(action='get', key=key)
        # the server always adds one newline; take that one off and nothing else
        if body.endswith('\n'):
            body = body[:-1]
        return body

    def set(self, key, value):
        self.call(action='set', key=key, value=value)

    def unset(self, key):
        self.call(action='unset', key=key)


def say(text):
    print(text, flush=True)


def beat_age(server, key):
    """Seconds since the heartbeat key was refreshed, None when there is no such key."""
    val = server.get(key)
    if val == '':
        return None
    try:
        return time.time() - float(val)
    except ValueError:
        return float('inf')


def is_stale(server, key):
    """True when the heartbeat key exists and has not been refreshed for LEASE seconds."""
    age = beat_age(server, key)
    return age is not None and age > LEASE


def doubtful(server, *keys):
    """A heartbeat is late (missed two beats) but not yet past the lease."""
    for key in keys:
        age = beat_age(server, key)
        if age is not None and age > 2 * BEAT:
            return True
    return False


def join(server, me):
    """Take slot 'one' or 'two'; None when the server is in use."""
    lost = 0
    for _ in range(100):
        started = time.time()
        status = server.get('status')
        if status == 'two':
            if is_stale(server, 'beat_one') or is_stale(server, 'beat_two'):
                say('A previous chat was left open by a client that died; resetting it.')
                server.unset('beat_one')
                server.unset('beat_two')
                server.set('status', 'off')
                continue
            if doubtful(server, 'beat_one', 'beat_two'):
                time.sleep(0.5)  # someone may have died; look again before giving up
                continue
            return None
        if status == 'one' and doubtful(server, 'beat_one') and not is_stale(server, 'beat_one'):
            time.sleep(0.5)
            continue
        if status == 'one' and is_stale(server, 'beat_one'):
            say('A previous user is no longer there; resetting the server.')
            server.unset('beat_one')
            server.set('status', 'off')
            continue
        # claim the slot, give a competitor time to overwrite the claim, re-check
        server.set('claim', me)
        time.sleep(random.uniform(0.3, 0.6))
        if server.get('claim') != me or server.get('status') != status:
            # somebody else is claiming: let them finish before trying again
            lost += 1
            time.sleep((time.time() - started) * random.uniform(1.0, 2.0) * min(lost, 4))
            continue
        # get ready, then look one last time before taking the slot
        if status == 'one':
            server.set('beat_two', repr(time.time()))
            server.set('received', '0')
        else:
            server.unset('beat_two')
            server.set('received', '0')
        if server.get('claim') != me or server.get('status') != status:
            if status == 'one':
                server.unset('beat_two')
            lost += 1
            time.sleep((time.time() - started) * random.uniform(1.0, 2.0) * min(lost, 4))
            continue
        if status == 'one':
            server.set('status', 'two')
            return 'two'
        server.set('status', 'one')
        server.set('beat_one', repr(time.time()))
        return 'one'
    return None


class Chat:
    def __init__(self, server, me, slot):
        self.server = server
        self.me = me
        self.slot = slot
        self.my_beat = 'beat_' + slot
        self.peer_beat = 'beat_two' if slot == 'one' else 'beat_one'
        self.lines = queue.Queue()
        self.pending = []
        self.stop = threading.Event()
        self.last_sent = None
        self.mine_pending = False

    # --- background threads -------------------------------------------------
    def read_stdin(self):
        for line in sys.stdin:
            self.lines.put(line.rstrip('\r\n'))
        self.lines.put(None)  # EOF

    def heartbeat(self):
        while not self.stop.wait(BEAT):
            try:
                self.server.set(self.my_beat, repr(time.time()))
            except Exception:
                pass

    # --- helpers ---------------------------------------------------------------
    def drain_input(self):
        while True:
            try:
                self.pending.append(self.lines.get_nowait())
            except queue.Empty:
                return

    def wants_quit(self):
        return bool(self.pending) and self.pending[0] in ('/quit', None)

    def leave(self):
        self.stop.set()
        try:
            self.server.unset(self.my_beat)
            self.server.set('status', 'off')
        except Exception:
            pass
        say('Bye.')

    def peer_gone(self, dead=False):
        self.stop.set()
        try:
            self.server.unset(self.my_beat)
            if dead:
                self.server.unset(self.peer_beat)
                self.server.set('status', 'off')
        except Exception:
            pass
        if dead:
            say('Your friend seems to be gone (no heartbeat), closing.')
        else:
            say('Your friend left the chat.')

    def message_for_me(self):
        """Is there a message from the other side?  Never our own one."""
        if self.server.get('received') != '1':
            self.mine_pending = False  # the other side has taken our message
            return None
        text = self.server.get('message')
        if self.mine_pending:
            sender = self.server.get('sender')
            if sender not in ('', self.me):
                return text          # written by the other client
            if text == self.last_sent:
                return None          # still our own message, not read yet
        return text

    def send(self, text):
        self.server.set('sender', self.me)
        self.server.set('message', text)
        self.server.set('received', '1')
        self.last_sent = text
        self.mine_pending = True

    # --- main loop -----------------------------------------------------------
    def run(self):
        threading.Thread(target=self.read_stdin, daemon=True).start()
        threading.Thread(target=self.heartbeat, daemon=True).start()

        if self.slot == 'one':
            say('Connected as user 1. Waiting for the other user to join...')
            while True:
                self.drain_input()
                if self.wants_quit():
                    self.leave()
                    return
                status = self.server.get('status')
                if status == 'two':
                    break
                if status != 'one':
                    self.stop.set()
                    say('The chat was reset by another client, closing.')
                    return
                time.sleep(POLL)
            say('The other user joined. You write first.')
            state = 'send'
        else:
            say('Connected as user 2. The other user writes first.')
            say('Waiting for a message...')
            state = 'wait'

        while True:
            self.drain_input()
            if self.wants_quit():
                self.leave()
                return
            if state == 'send' and self.pending:
                text = self.pending.pop(0)
                if self.server.get('status') != 'two':
                    self.peer_gone()
                    return
                self.send(text)
                say('Waiting for a message...')
                state = 'wait'
                continue
            if state == 'wait':
                text = self.message_for_me()
                if text is not None:
                    say('Friend says: ' + text)
                    self.server.set('received', '0')
                    self.mine_pending = False
                    state = 'send'
                    continue
            if self.server.get('status') != 'two':
                self.peer_gone()
                return
            if is_stale(self.server, self.peer_beat):
                self.peer_gone(dead=True)
                return
            time.sleep(POLL)


def main():
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get('IM_SERVER_URL')
    if not url:
        print('usage: chat.py SERVER_URL', file=sys.stderr)
        return 2
    server = Server(url)
    me = '%d-%08x' % (os.getpid(), random.getrandbits(32))
    chat = None

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        slot = join(server, me)
        if slot is None:
            say('Sorry, the chat server is in use (two users already connected).')
            return 1
        chat = Chat(server, me, slot)
        chat.run()
        return 0
    except KeyboardInterrupt:
        if chat is not None:
            chat.leave()
        return 0
    except OSError as e:
        print('Problem talking to the server: %s' % e, file=sys.stderr)
        if chat is not None:
            chat.stop.set()
        return 1


if __name__ == '__main__':
    sys.exit(main())
