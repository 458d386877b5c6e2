# chatServerSnd.py -- builds the packages the server sends back to clients
import protocol_pb2

VERSION = "0.1"


def package(opcode, msg=""):
    p = protocol_pb2.Server2Client()
    p.version = VERSION
    p.opcode = opcode
    p.msg = msg
    return p.SerializeToString()


def send(sock, opcode, msg=""):
    sock.sendall(package(opcode, msg))


def create_success(sock, name):
    send(sock, 1, "Account " + name + " was created successfully")


def create_failure(sock, name):
    send(sock, 2, "An account with the name " + name + " already exists")


def send_success(sock):
    send(sock, 3, "Message sent")


def send_not_logged_in(sock):
    send(sock, 4, "You need to log in before sending a message")


def send_no_recipient(sock, name):
    send(sock, 5, "The recipient " + name + " does not exist")


def check_messages(sock, text):
    send(sock, 6, text)


def check_not_logged_in(sock):
    send(sock, 7, "You need to log in before checking your messages")


def delete_success(sock, text):
    send(sock, 8, text)


def delete_failure(sock):
    send(sock, 9, "You need to log in to the account you want to delete")


def list_success(sock, names):
    send(sock, 10, "\n".join(names))


def logout_success(sock):
    send(sock, 11, "Logged out successfully")


def logout_failure(sock):
    send(sock, 12, "You need to log in before logging out")


def login_success(sock, name):
    send(sock, 13, "Logged in as " + name)


def login_no_account(sock, name):
    send(sock, 14, "There is no account with the name " + name)


def login_already(sock, name):
    send(sock, 15, "You are already logged in as " + name)


def login_switched(sock, name):
    send(sock, 16, "You switched to the account " + name)


def deliver(sock, sender, text):
    send(sock, 17, sender + ":" + text + "\n")


def list_failure(sock, err):
    send(sock, 18, "Listing accounts failed: " + err)
