"""Echo client: negotiates the version, logs in, sends chat messages and
pings the server every 10 seconds so the server knows it is still there."""
import socket
import sys
import threading
import time
from datetime import datetime

import pdu

CLIENT_VERSIONS = ["1.0.0"]
# To try the negotiation failing, comment the line above and uncomment this one:
# CLIENT_VERSIONS = ["2.0.0"]


class EchoClient:
    def __init__(self, server, port, ping_interval):
        self.server = server
        self.port = port
        self.ping_interval = ping_interval
        self.session_id = None
        self.running = True
        self.sock = None
        self.rfile = None

    def send(self, dgram):
        self.sock.sendall(dgram.to_bytes())

    def receive(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return None
            if line.strip():
                return pdu.Datagram.from_bytes(line)

    def negotiate_version(self):
        self.send(pdu.Datagram(pdu.MSG_TYPE_VERSION_REQUEST, {"supported_versions": CLIENT_VERSIONS}))
        resp = self.receive()
        if resp is None:
            print("Server closed the connection", flush=True)
            return False
        if resp.mtype == pdu.MSG_TYPE_VERSION_RESPONSE and resp.payload.get("success"):
            print("Using protocol version", resp.payload.get("selected_version"), flush=True)
            return True
        if resp.mtype == pdu.MSG_TYPE_ERROR:
            print("Error:", resp.payload.get("message"), flush=True)
        else:
            print("Version negotiation failed", flush=True)
        return False

    def login(self):
        while True:
            sys.stdout.write("Enter username: ")
            sys.stdout.flush()
            username = sys.stdin.readline()
            if not username:
                return False
            sys.stdout.write("Enter password: ")
            sys.stdout.flush()
            password = sys.stdin.readline()
            if not password:
                return False
            self.send(pdu.Datagram(pdu.MSG_TYPE_LOGIN_REQUEST,
                                   {"username": username.strip(), "password": password.strip()}))
            resp = self.receive()
            if resp is None:
                print("Server closed the connection", flush=True)
                return False
            if resp.mtype == pdu.MSG_TYPE_LOGIN_RESPONSE:
                if resp.payload.get("auth") == pdu.AUTH_SUCCESS:
                    self.session_id = resp.payload.get("id")
                    print("Login successful!", flush=True)
                    return True
                print("Invalid username or password", flush=True)
            elif resp.mtype == pdu.MSG_TYPE_ERROR:
                print("Error:", resp.payload.get("message"), flush=True)
                return False

    def ping_loop(self):
        while self.running:
            time.sleep(self.ping_interval)
            if not self.running:
                break
            try:
                self.send(pdu.Datagram(pdu.MSG_TYPE_PING, {"id": self.session_id}))
            except OSError:
                break

    def receive_loop(self):
        while self.running:
            try:
                dgram = self.receive()
            except OSError:
                dgram = None
            if dgram is None:
                if self.running:
                    print("\nServer closed the connection", flush=True)
                    self.running = False
                    self.sock.close()
                    import os
                    os._exit(1)
                return
            if dgram.mtype == pdu.MSG_TYPE_CHAT_MESSAGE:
                print("\n[echo] %s" % dgram.payload.get("message"), flush=True)
                sys.stdout.write(">> ")
                sys.stdout.flush()
            elif dgram.mtype == pdu.MSG_TYPE_ERROR:
                print("\nError:", dgram.payload.get("message"), flush=True)
                if dgram.payload.get("error_code") == pdu.ERROR_TIMEOUT:
                    self.running = False
                    import os
                    os._exit(1)

    def run(self):
        self.sock = socket.create_connection((self.server, self.port))
        self.rfile = self.sock.makefile("rb")
        if not self.negotiate_version() or not self.login():
            self.sock.close()
            return
        threading.Thread(target=self.ping_loop, daemon=True).start()
        threading.Thread(target=self.receive_loop, daemon=True).start()
        while self.running:
            sys.stdout.write(">> ")
            sys.stdout.flush()
            line = sys.stdin.readline()
            if not line or line.strip() == "exit":
                break
            message = line.rstrip("\r\n")
            if not message.strip():
                continue
            self.send(pdu.Datagram(pdu.MSG_TYPE_CHAT_MESSAGE,
                                   {"id": self.session_id, "time": str(datetime.now()),
                                    "message": message}))
        self.running = False
        try:
            self.send(pdu.Datagram(pdu.MSG_TYPE_LOGOUT, {"id": self.session_id}))
        except OSError:
            pass
        print("Logged out", flush=True)
        time.sleep(0.2)
        self.sock.close()


def run_client(server, port, ping_interval):
    EchoClient(server, port, ping_interval).run()
