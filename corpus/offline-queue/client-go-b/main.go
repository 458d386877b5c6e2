// Terminal client for the offline-queue chat (seed 004 wire: one protobuf
// message per write, no length prefix).  No prompt; output lines end in CRLF.
//
//	./client 127.0.0.1:8080
//
// Commands: /create NAME, /login NAME, /msg USER TEXT, /check, /delete,
// /list [PATTERN], /quit, /help.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
)

const protoVersion = "0.1"

var (
	outMu sync.Mutex
)

func println(format string, args ...interface{}) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(os.Stdout, format+"\r\n", args...)
}

type client struct {
	conn    net.Conn
	replies chan int32
	quitting bool
}

func (c *client) send(op int32, receiver, msg string) {
	req := &Client2Server{Version: protoVersion, Opcode: op, Receiver: receiver, Msg: msg}
	data, err := proto.Marshal(req)
	if err != nil {
		println("! cannot encode request: %v", err)
		return
	}
	// drop a stale reply signal, if any
	select {
	case <-c.replies:
	default:
	}
	if _, err := c.conn.Write(data); err != nil {
		println("! write failed: %v", err)
		os.Exit(1)
	}
	// one request in flight at a time: the wire has no framing
	select {
	case <-c.replies:
	case <-time.After(5 * time.Second):
		println("! no answer from the server")
	}
}

func records(s string) [][2]string {
	var out [][2]string
	for _, line := range strings.Split(s, "\n") {
		if line == "" {
			continue
		}
		i := strings.Index(line, ":")
		if i < 0 {
			out = append(out, [2]string{"", line})
			continue
		}
		out = append(out, [2]string{line[:i], line[i+1:]})
	}
	return out
}

func (c *client) show(m *Server2Client) {
	switch m.Opcode {
	case 17:
		for _, r := range records(m.Msg) {
			println("<%s> %s", r[0], r[1])
		}
		return
	case 6:
		rs := records(m.Msg)
		println("inbox: %d message(s)", len(rs))
		for _, r := range rs {
			println("  from %s: %s", r[0], r[1])
		}
	case 8:
		rs := records(m.Msg)
		println("account deleted; %d unread message(s)", len(rs))
		for _, r := range rs {
			println("  from %s: %s", r[0], r[1])
		}
	case 10:
		var names []string
		for _, n := range strings.Split(m.Msg, "\n") {
			if n != "" {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			println("accounts: (none)")
		} else {
			println("accounts: %s", strings.Join(names, ", "))
		}
	default:
		println("server[%d]: %s", m.Opcode, m.Msg)
	}
	select {
	case c.replies <- m.Opcode:
	default:
	}
}

func (c *client) readLoop() {
	var buf []byte
	chunk := make([]byte, 8192)
	for {
		n, err := c.conn.Read(chunk)
		if n > 0 {
			buf = append(buf, chunk[:n]...)
			msgs, used, perr := splitMessages(buf)
			if perr != nil {
				println("! unreadable data from server dropped")
				buf = nil
				continue
			}
			for _, raw := range msgs {
				m := &Server2Client{}
				if proto.Unmarshal(raw, m) == nil {
					c.show(m)
				}
			}
			buf = append(buf[:0], buf[used:]...)
		}
		if err != nil {
			if !c.quitting {
				println("connection closed by server")
				os.Exit(1)
			}
			return
		}
	}
}

const help = `/create NAME      create an account (1-25 characters)
/login NAME       log in
/msg USER TEXT    send a message (up to 100 characters)
/check            show and clear unread messages
/delete           delete your account
/list [PATTERN]   list accounts (* = anything, _ = one character)
/quit             log out and exit`

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: client HOST:PORT")
		os.Exit(2)
	}
	conn, err := net.Dial("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot connect:", err)
		os.Exit(1)
	}
	c := &client{conn: conn, replies: make(chan int32, 1)}
	go c.readLoop()

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), 1<<20)
	for in.Scan() {
		line := strings.TrimRight(in.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Fields(line)
		arg := ""
		if len(fields) > 1 {
			arg = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), fields[0]))
		}
		switch strings.ToLower(fields[0]) {
		case "/help":
			for _, l := range strings.Split(help, "\n") {
				println("%s", l)
			}
		case "/create", "/login":
			if arg == "" {
				println("! usage: %s NAME", fields[0])
				continue
			}
			if utf8.RuneCountInString(arg) > 25 {
				println("! name too long (25 characters at most)")
				continue
			}
			op := int32(1)
			if strings.ToLower(fields[0]) == "/login" {
				op = 2
			}
			c.send(op, "", arg)
		case "/msg":
			if len(fields) < 3 {
				println("! usage: /msg USER TEXT")
				continue
			}
			rest := strings.TrimLeft(strings.TrimPrefix(arg, fields[1]), " \t")
			if utf8.RuneCountInString(rest) > 100 {
				println("! message too long (100 characters at most)")
				continue
			}
			c.send(3, fields[1], rest)
		case "/check":
			c.send(4, "", "")
		case "/delete":
			c.send(5, "", "")
		case "/list":
			c.send(6, "", arg)
		case "/quit":
			c.quitting = true
			c.send(7, "", "")
			conn.Close()
			return
		default:
			println("! unknown command %q (try /help)", fields[0])
		}
	}
	c.quitting = true
	conn.Close()
}
