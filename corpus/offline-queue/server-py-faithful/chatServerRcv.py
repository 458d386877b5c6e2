# chatServerRcv.py -- what the server does for each request of a client
import re
import socket
import threading

import chatServerSnd as snd


class Client:
    def __init__(self, sock=None):
        self.socket = sock       # None while the user is off-line
        self.queue = []          # undelivered messages, "sender:text\n"


clients = {}                     # account name -> Client
lock = threading.Lock()
logged = {}                      # socket -> account name logged in from it (or None)


def create_account(sock, req):
    name = req.msg
    lock.acquire()
    if name in clients:
        lock.release()
        snd.create_failure(sock, name)
        return
    clients[name] = Client()
    lock.release()
    snd.create_success(sock, name)


def log_in(sock, req):
    name = req.msg
    lock.acquire()
    if name not in clients:
        lock.release()
        snd.login_no_account(sock, name)
        return
    current = logged.get(sock)
    if current == name:
        lock.release()
        snd.login_already(sock, name)
        return
    if current is not None and current in clients and clients[current].socket is sock:
        clients[current].socket = None
    old = clients[name].socket
    if old is not None and old is not sock:
        # somebody else was using this account: he/she is logged out
        logged[old] = None
    clients[name].socket = sock
    logged[sock] = name
    lock.release()
    if current is not None:
        snd.login_switched(sock, name)
    else:
        snd.login_success(sock, name)


def confirmed(sock):
    # the recipient's socket is still there if the peer has not closed it
    try:
        data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return len(data) > 0


def send_message(sock, req):
    lock.acquire()
    me = logged.get(sock)
    if me is None:
        lock.release()
        snd.send_not_logged_in(sock)
        return
    if req.receiver not in clients:
        lock.release()
        snd.send_no_recipient(sock, req.receiver)
        return
    sender = req.sender or me
    rcpt = clients[req.receiver]
    delivered = False
    if rcpt.socket is not None:
        if confirmed(rcpt.socket):
            try:
                snd.deliver(rcpt.socket, sender, req.msg)
                delivered = True
            except OSError:
                pass
        if not delivered:
            # no confirmation: the client failed, it is off-line now
            logged[rcpt.socket] = None
            rcpt.socket = None
    if not delivered:
        rcpt.queue.append(sender + ":" + req.msg + "\n")
    lock.release()
    snd.send_success(sock)


def check_message(sock, req):
    lock.acquire()
    me = logged.get(sock)
    if me is None:
        lock.release()
        snd.check_not_logged_in(sock)
        return
    text = "".join(clients[me].queue)
    clients[me].queue = []
    lock.release()
    snd.check_messages(sock, text)


def delete_account(sock, req):
    lock.acquire()
    me = logged.get(sock)
    if me is None:
        lock.release()
        snd.delete_failure(sock)
        return
    text = "".join(clients[me].queue)
    del clients[me]
    logged[sock] = None
    lock.release()
    snd.delete_success(sock, text)


def list_accounts(sock, req):
    pattern = req.msg
    if pattern == "":
        pattern = "*"
    # shell-like criteria: _ is one character, * is anything
    regex = pattern.replace("_", ".").replace("*", ".*")
    lock.acquire()
    try:
        names = [n for n in clients if re.fullmatch(regex, n)]
    except re.error as e:
        lock.release()
        snd.list_failure(sock, str(e))
        return
    lock.release()
    snd.list_success(sock, names)


def quit(sock, req):
    lock.acquire()
    me = logged.get(sock)
    if me is None:
        lock.release()
        snd.logout_failure(sock)
        return False
    if me in clients and clients[me].socket is sock:
        clients[me].socket = None
    logged[sock] = None
    lock.release()
    snd.logout_success(sock)
    return True


handlers = {
    1: create_account,
    2: log_in,
    3: send_message,
    4: check_message,
    5: delete_account,
    6: list_accounts,
}
