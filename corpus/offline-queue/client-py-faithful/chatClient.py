# chatClient.py -- the chat client: python3 chatClient.py <server_host_address> <port>
import os
import socket
import sys
import threading

import protocol_pb2
import chatClientRcv as rcv
import chatClientSnd as snd

MENU = """
Choose an action:
	(1) Create an account
	(2) Log in
	(3) Send a message
	(4) Check unread message
	(5) Delete an account
	(6) List accounts
	(7) Quit"""

me = ""                  # account we are logged in to
wanted = ""              # account we asked to log in to
answered = threading.Event()
last_opcode = [0]
leaving = [False]         # set once the server confirmed our quit


def receiver(sock):
    global me
    while True:
        try:
            data = sock.recv(1024)
        except OSError:
            data = b""
        if not data:
            if leaving[0]:
                return
            rcv.out("Error: the server is not responding, exiting.")
            os._exit(1)
        reply = protocol_pb2.Server2Client()
        reply.ParseFromString(data)
        rcv.show(reply)
        if reply.opcode in (13, 15, 16):
            me = wanted
        elif reply.opcode in (8, 11):
            me = ""
        if reply.opcode == 11:
            leaving[0] = True
        if reply.opcode != 17:
            last_opcode[0] = reply.opcode
            answered.set()


def ask(prompt, limit=None):
    while True:
        value = input(prompt)
        if limit is not None and len(value) > limit:
            print("Too long, at most %d characters. Try again." % limit)
            continue
        return value


def request(fn, *args):
    answered.clear()
    fn(*args)
    answered.wait(10)


def main():
    global wanted
    if len(sys.argv) != 3:
        print("Usage: python3 chatClient.py <server_host_address> <port>")
        sys.exit(1)
    try:
        sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))
    except OSError as e:
        print("Error: could not connect to the server (%s)" % e)
        sys.exit(1)
    threading.Thread(target=receiver, args=(sock,), daemon=True).start()
    try:
        while True:
            print(MENU)
            choice = input("Your choice: ").strip()
            if choice == "1":
                request(snd.create_account, sock, ask("Account name: ", 25))
            elif choice == "2":
                wanted = ask("Account name: ", 25)
                request(snd.log_in, sock, wanted)
            elif choice == "3":
                to = ask("Recipient: ", 25)
                text = ask("Message: ", 100)
                request(snd.send_message, sock, me, to, text)
            elif choice == "4":
                request(snd.check_messages, sock, me)
            elif choice == "5":
                request(snd.delete_account, sock, me)
            elif choice == "6":
                request(snd.list_accounts, sock, me, ask("Pattern (* = anything, _ = one character): "))
            elif choice == "7":
                request(snd.quit, sock, me)
                if last_opcode[0] == 11:
                    break
            else:
                print("Invalid choice, type a number from 1 to 7.")
    except (KeyboardInterrupt, EOFError):
        # Ctrl+C: log out first if we are logged in
        if me:
            request(snd.quit, sock, me)
        print("")
    sock.close()


if __name__ == "__main__":
    main()
