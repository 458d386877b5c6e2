"""Echo server. Keeps the logged in users and their session ids, and uses the
PING messages to find clients that went away (ctrl+c) without logging out."""
import socket
import threading
import time

import pdu

# hardcoded accounts
USERS = {"user1": "pass1", "user2": "pass2"}
SUPPORTED_VERSIONS = ["1.0.0"]


class EchoServer:
    def __init__(self, timeout):
        self.timeout = timeout
        self.sessions = {}           # session id -> {"username", "last_ping", "conn"}
        self.logged_in_users = {}    # username -> session id
        self.next_id = 1
        self.lock = threading.Lock()

    def send(self, conn, dgram):
        try:
            conn.sendall(dgram.to_bytes())
        except OSError:
            pass

    def send_error(self, conn, sid, code, message):
        self.send(conn, pdu.Datagram(pdu.MSG_TYPE_ERROR,
                                     {"id": sid, "error_code": code, "message": message}))

    def check_pings(self):
        """Runs forever: logs out every session that has not pinged in time."""
        while True:
            time.sleep(1)
            now = time.time()
            with self.lock:
                for sid in list(self.sessions.keys()):
                    s = self.sessions[sid]
                    if now - s["last_ping"] > self.timeout:
                        print("[svr] Session %s (%s) timed out" % (sid, s["username"]), flush=True)
                        del self.sessions[sid]
                        self.logged_in_users.pop(s["username"], None)
                        self.send_error(s["conn"], sid, pdu.ERROR_TIMEOUT, "Session timed out")

    def handle_client(self, conn, addr):
        print("[svr] New connection from", addr, flush=True)
        f = conn.makefile("rb")
        try:
            for line in f:
                if not line.strip():
                    continue
                try:
                    dgram = pdu.Datagram.from_bytes(line)
                except Exception as e:
                    print("[svr] Could not decode message:", e, flush=True)
                    continue
                self.process(conn, dgram)
        except OSError:
            pass
        # Note: nothing is cleaned up here. A client killed with ctrl+c is
        # found by the ping check instead.
        print("[svr] Connection from", addr, "closed", flush=True)
        conn.close()

    def process(self, conn, dgram):
        mtype = dgram.mtype
        payload = dgram.payload if isinstance(dgram.payload, dict) else {}

        if mtype == pdu.MSG_TYPE_VERSION_REQUEST:
            client_versions = payload.get("supported_versions", [])
            for v in client_versions:
                if v in SUPPORTED_VERSIONS:
                    self.send(conn, pdu.Datagram(pdu.MSG_TYPE_VERSION_RESPONSE,
                                                 {"selected_version": v, "success": True}))
                    return
            self.send_error(conn, None, pdu.ERROR_UNSUPPORTED_VERSION, "Unsupported version")

        elif mtype == pdu.MSG_TYPE_LOGIN_REQUEST:
            username = payload.get("username")
            password = payload.get("password")
            if username in USERS and USERS[username] == password:
                with self.lock:
                    if username in self.logged_in_users:
                        self.send_error(conn, None, pdu.ERROR_ALREADY_LOGGED_IN,
                                        "User already logged in from another location")
                        return
                    sid = self.next_id
                    self.next_id += 1
                    self.sessions[sid] = {"username": username, "last_ping": time.time(), "conn": conn}
                    self.logged_in_users[username] = sid
                print("[svr] %s logged in, session %s" % (username, sid), flush=True)
                self.send(conn, pdu.Datagram(pdu.MSG_TYPE_LOGIN_RESPONSE,
                                             {"auth": pdu.AUTH_SUCCESS, "id": sid}))
            else:
                self.send(conn, pdu.Datagram(pdu.MSG_TYPE_LOGIN_RESPONSE,
                                             {"auth": pdu.AUTH_FAILURE, "id": None}))

        elif mtype == pdu.MSG_TYPE_CHAT_MESSAGE:
            sid = payload.get("id")
            with self.lock:
                session = self.sessions.get(sid)
                if session is not None:
                    session["last_ping"] = time.time()
            if session is None:
                self.send_error(conn, sid, pdu.ERROR_SESSION_NOT_FOUND, "Session not found")
                return
            print("[svr] %s: %s" % (session["username"], payload.get("message")), flush=True)
            # parrot it back
            self.send(conn, pdu.Datagram(pdu.MSG_TYPE_CHAT_MESSAGE, payload))

        elif mtype == pdu.MSG_TYPE_PING:
            sid = payload.get("id")
            with self.lock:
                session = self.sessions.get(sid)
                if session is not None:
                    session["last_ping"] = time.time()
            if session is None:
                self.send_error(conn, sid, pdu.ERROR_SESSION_NOT_FOUND, "Session not found")

        elif mtype == pdu.MSG_TYPE_LOGOUT:
            sid = payload.get("id")
            with self.lock:
                session = self.sessions.pop(sid, None)
                if session is not None:
                    self.logged_in_users.pop(session["username"], None)
            if session is None:
                self.send_error(conn, sid, pdu.ERROR_SESSION_NOT_FOUND, "Session not found")
            else:
                print("[svr] %s logged out" % session["username"], flush=True)


def run_server(address, port, timeout):
    server = EchoServer(timeout)
    threading.Thread(target=server.check_pings, daemon=True).start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen()
    print("[svr] Server listening on %s:%d" % (address, port), flush=True)
    while True:
        conn, addr = sock.accept()
        threading.Thread(target=server.handle_client, args=(conn, addr), daemon=True).start()
