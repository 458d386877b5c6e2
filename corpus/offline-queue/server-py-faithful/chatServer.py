# chatServer.py -- starts the chat server (port 8080) and a thread per client
import socket
import sys
import threading

import protocol_pb2
import chatServerRcv as rcv

PORT = 8080


def serve_client(sock):
    rcv.logged[sock] = None
    while True:
        data = sock.recv(1024)
        if not data:
            # the client went away; we only find out later (log in again or
            # a message for it)
            raise Exception("client disconnected")
        req = protocol_pb2.Client2Server()
        req.ParseFromString(data)
        if req.opcode == 7:
            if rcv.quit(sock, req):
                sock.close()
                raise Exception("client quit, stopping its thread")
            continue
        handler = rcv.handlers.get(req.opcode)
        if handler is not None:
            handler(sock, req)


def main():
    port = PORT
    if len(sys.argv) > 1:
        port = int(sys.argv[1])
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    host = "127.0.0.1"
    s.bind((host, port))
    s.listen(10)
    print("Server IP address: " + host)
    print("Server listening on port " + str(port))
    sys.stdout.flush()
    while True:
        conn, addr = s.accept()
        t = threading.Thread(target=serve_client, args=(conn,))
        t.start()


if __name__ == "__main__":
    main()
