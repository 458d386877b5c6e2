// Interactive client for the offline-queue chat server.
// Protocol Buffers by hand, each message preceded by its varint length.
//
//	client HOST PORT
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
)

type reply struct {
	opcode int32
	msg    string
}

var (
	conn    net.Conn
	me      string // account logged in on this connection ("" if none)
	leaving bool   // set under outMu when the user quits
	outMu   sync.Mutex
	replies = make(chan reply, 16)
)

func say(format string, args ...interface{}) {
	outMu.Lock()
	fmt.Printf(format+"\n", args...)
	outMu.Unlock()
}

func putString(b []byte, field int, s string) []byte {
	if s == "" {
		return b
	}
	b = binary.AppendUvarint(b, uint64(field<<3|2))
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func request(opcode int32, receiver, msg string) error {
	var body []byte
	body = putString(body, 1, "0.1")
	body = binary.AppendUvarint(body, 2<<3|0)
	body = binary.AppendUvarint(body, uint64(int64(opcode)))
	body = putString(body, 3, me)
	body = putString(body, 4, receiver)
	body = putString(body, 5, msg)
	frame := binary.AppendUvarint(nil, uint64(len(body)))
	_, err := conn.Write(append(frame, body...))
	return err
}

func decode(b []byte) (reply, error) {
	var r reply
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return r, errors.New("bad key")
		}
		b = b[n:]
		switch key & 7 {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return r, errors.New("bad varint")
			}
			b = b[n:]
			if key>>3 == 2 {
				r.opcode = int32(v)
			}
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return r, errors.New("bad length")
			}
			if key>>3 == 3 {
				r.msg = string(b[n : n+int(l)])
			}
			b = b[n+int(l):]
		default:
			return r, errors.New("unexpected wire type")
		}
	}
	return r, nil
}

// receive prints pushed messages at once and hands every other reply to the
// command that is waiting for it.
func receive() {
	in := bufio.NewReader(conn)
	for {
		size, err := binary.ReadUvarint(in)
		if err != nil {
			break
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(in, body); err != nil {
			break
		}
		r, err := decode(body)
		if err != nil {
			continue
		}
		if r.opcode == 17 {
			for _, line := range lines(r.msg) {
				from, text, _ := strings.Cut(line, ":")
				say(">> %s: %s", from, text)
			}
			continue
		}
		replies <- r
	}
	outMu.Lock()
	if !leaving {
		fmt.Println("Server closed the connection.")
		os.Exit(1)
	}
	outMu.Unlock()
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func show(r reply) {
	switch r.opcode {
	case 6, 8:
		msgs := lines(r.msg)
		if r.opcode == 8 {
			say("OK: account deleted")
		}
		if len(msgs) == 0 {
			say("No unread messages.")
		} else {
			say("%d unread message(s):", len(msgs))
		}
		for _, m := range msgs {
			from, text, _ := strings.Cut(m, ":")
			say("  %s: %s", from, text)
		}
	case 10:
		names := lines(r.msg)
		if len(names) == 0 {
			say("No matching accounts.")
		} else {
			say("Accounts: %s", strings.Join(names, ", "))
		}
	case 1, 3, 11, 13, 16:
		say("OK: %s", r.msg)
	default:
		say("ERROR: %s", r.msg)
	}
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: client HOST PORT")
		os.Exit(2)
	}
	var err error
	conn, err = net.Dial("tcp", net.JoinHostPort(os.Args[1], os.Args[2]))
	if err != nil {
		fmt.Println("Cannot connect:", err)
		os.Exit(1)
	}
	go receive()
	say("Connected to %s:%s. Commands: create NAME | login NAME | send USER TEXT | check | delete | list [PATTERN] | quit", os.Args[1], os.Args[2])

	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for {
		line := "quit" // end of input acts like quit
		if sc.Scan() {
			line = strings.TrimRight(sc.Text(), "\r")
		}
		cmd, rest, _ := strings.Cut(strings.TrimLeft(line, " "), " ")
		var op int32
		var receiver, msg string
		switch cmd {
		case "":
			continue
		case "create", "login":
			op, msg = map[string]int32{"create": 1, "login": 2}[cmd], strings.TrimSpace(rest)
		case "send":
			receiver, msg, _ = strings.Cut(strings.TrimLeft(rest, " "), " ")
			if receiver == "" {
				say("Usage: send USER TEXT")
				continue
			}
			op = 3
		case "check":
			op = 4
		case "delete":
			op = 5
		case "list":
			op, msg = 6, strings.TrimSpace(rest)
		case "quit":
			op = 7
		default:
			say("Unknown command. Commands: create NAME | login NAME | send USER TEXT | check | delete | list [PATTERN] | quit")
			continue
		}
		if err := request(op, receiver, msg); err != nil {
			say("Server closed the connection.")
			os.Exit(1)
		}
		r := <-replies
		show(r)
		switch r.opcode {
		case 13, 16:
			me = msg
		case 8, 11:
			me = ""
		}
		if op == 7 {
			outMu.Lock()
			leaving = true
			outMu.Unlock()
			conn.Close()
			say("Bye.")
			os.Exit(0)
		}
	}
}
