#!/usr/bin/python3
"""IM client for exercise 1 (lock alternation over the course's IM server).

Keys on the server:
    connected  number of clients connected ('1' or '2')
    lock       which client may send ('1' or '2')
    message    the last message sent

usage: imclient.py [SERVER_URL]     (default: $IM_SERVER or http://127.0.0.1:8000/IMserver.php)
"""
import os
import sys
import time
import urllib.parse
import urllib.request

SERVER = (sys.argv[1] if len(sys.argv) > 1
          else os.environ.get("IM_SERVER", "http://127.0.0.1:8000/IMserver.php"))
POLL = 0.5


def request(params):
    url = SERVER + "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    with urllib.request.urlopen(url) as resp:
        return resp.read().decode("utf-8")


def get(key):
    # the server ends every answer with a newline
    return request({"action": "get", "key": key}).rstrip("\n")


def set_(key, value):
    request({"action": "set", "key": key, "value": value})


def main():
    # Work out whether we are client 1 or client 2
    if get("connected") == "":
        set_("connected", "1")
        set_("lock", "1")
        me, other = "1", "2"
        print("Waiting for client 2 to connect..", flush=True)
        while get("connected") != "2":
            time.sleep(POLL)
        print("Client 2 connected!", flush=True)
    else:
        set_("connected", "2")
        me, other = "2", "1"
        print("Connected as client 2.", flush=True)

    while True:
        if get("lock") == me:
            try:
                text = input("Enter message: ")
            except EOFError:
                break
            set_("message", text)
            set_("lock", other)
        else:
            print("Waiting for client %s..." % other, flush=True)
            while get("lock") != me:
                time.sleep(POLL)
            print("Client %s: %s" % (other, get("message")), flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
