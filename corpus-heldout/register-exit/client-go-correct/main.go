// Terminal client for the routing chat server (gob wire).
//
//	client HOST PORT USERNAME
//
// Type "send <user> <message>" to send, "EXIT" to leave.
package main

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
)

type Message struct {
	To       string
	From     string
	Content  string
	Register bool
	Exit     bool
}

var (
	conn    net.Conn
	outMu   sync.Mutex
	leaving bool // set under outMu once the user typed EXIT
)

func say(format string, args ...interface{}) {
	outMu.Lock()
	fmt.Printf(format+"\n", args...)
	outMu.Unlock()
}

func send(m Message) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(m); err != nil {
		return err
	}
	_, err := conn.Write(buf.Bytes()) // one write per message
	return err
}

func receive() {
	in := bufio.NewReader(conn) // shared by every decode: nothing is read ahead and lost
	for {
		var m Message
		if err := gob.NewDecoder(in).Decode(&m); err != nil {
			outMu.Lock()
			if !leaving {
				fmt.Println("Lost connection to server, exiting...")
				os.Exit(1)
			}
			outMu.Unlock()
			return
		}
		if m.Exit {
			say("Server has shut down, exiting...")
			conn.Close()
			os.Exit(0)
		}
		say("%s: %s", m.From, m.Content)
	}
}

func leave(user string) {
	outMu.Lock()
	leaving = true
	outMu.Unlock()
	send(Message{From: user, Exit: true})
	conn.Close()
	say("Bye!")
	os.Exit(0)
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: client HOST PORT USERNAME")
		os.Exit(2)
	}
	host, port, user := os.Args[1], os.Args[2], os.Args[3]
	var err error
	conn, err = net.Dial("tcp", net.JoinHostPort(host, port))
	if err != nil {
		fmt.Println("Could not connect to server:", err)
		os.Exit(1)
	}
	if err := send(Message{From: user, Register: true}); err != nil {
		fmt.Println("Could not register:", err)
		os.Exit(1)
	}
	say("Connected to %s:%s as %s", host, port, user)
	go receive()

	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "":
			continue
		case strings.TrimSpace(line) == "EXIT":
			leave(user)
		case strings.HasPrefix(line, "send "):
			parts := strings.SplitN(strings.TrimLeft(line[5:], " "), " ", 2)
			if len(parts) < 2 || parts[0] == "" {
				say("Usage: send <user> <message>")
				continue
			}
			if err := send(Message{To: parts[0], From: user, Content: parts[1]}); err != nil {
				say("Lost connection to server, exiting...")
				os.Exit(1)
			}
		default:
			say("Unknown command. Use: send <user> <message>  or  EXIT")
		}
	}
	leave(user) // end of input counts as EXIT
}
