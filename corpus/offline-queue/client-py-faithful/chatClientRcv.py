# chatClientRcv.py -- prints what the server answered
import sys


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def lines(text):
    return [l for l in text.split("\n") if l != ""]


def show(reply):
    op = reply.opcode
    if op == 6:
        msgs = lines(reply.msg)
        if not msgs:
            out("You have no unread messages.")
        else:
            out("Your unread messages:")
            for m in msgs:
                out("  " + m)
    elif op == 8:
        msgs = lines(reply.msg)
        if msgs:
            out("Messages you had not read:")
            for m in msgs:
                out("  " + m)
        out("Your account was deleted.")
    elif op == 10:
        names = lines(reply.msg)
        out("Matching accounts (%d):" % len(names))
        for n in names:
            out("  " + n)
    elif op == 17:
        for m in lines(reply.msg):
            sender, _, text = m.partition(":")
            out("New message from " + sender + ": " + text)
    elif op in (1, 3, 11, 13, 16):
        out("Success: " + reply.msg)
    else:
        out("Error: " + reply.msg)
