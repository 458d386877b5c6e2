# chatClientSnd.py -- builds the packages for the requests of the user
import protocol_pb2

VERSION = "0.1"


def package(opcode, sender="", receiver="", msg=""):
    p = protocol_pb2.Client2Server()
    p.version = VERSION
    p.opcode = opcode
    p.sender = sender
    p.receiver = receiver
    p.msg = msg
    return p.SerializeToString()


def create_account(sock, name):
    sock.send(package(1, msg=name))


def log_in(sock, name):
    sock.send(package(2, msg=name))


def send_message(sock, me, to, text):
    sock.send(package(3, sender=me, receiver=to, msg=text))


def check_messages(sock, me):
    sock.send(package(4, sender=me))


def delete_account(sock, me):
    sock.send(package(5, sender=me))


def list_accounts(sock, me, pattern):
    sock.send(package(6, sender=me, msg=pattern))


def quit(sock, me):
    sock.send(package(7, sender=me))
