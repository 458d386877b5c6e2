// client-go-a: command-line chat client for the register-exit protocol (gob wire).
//
//	./client -addr 127.0.0.1:9000 -user alice
//
// stdin:  "send <user> <text>"  and  "EXIT"  (end of input behaves like EXIT)
// stdout: "connected as <user>" once registered, then "<From>: <Content>" for each
//
//	message, and "Server has shut down, exiting..." when the server exits.
package main

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

type Message struct {
	To       string
	From     string
	Content  string
	Register bool
	Exit     bool
}

var (
	outMu sync.Mutex
	conn  net.Conn
	wMu   sync.Mutex
	// set when we are leaving on purpose, so the reader does not report a lost connection
	leaving int32
)

func say(format string, args ...interface{}) {
	outMu.Lock()
	fmt.Printf(format+"\n", args...)
	outMu.Unlock()
}

// send encodes with a brand-new encoder (so the type definition goes along
// with every message, as the server expects) and writes it in one go.
func send(m Message) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(m); err != nil {
		return err
	}
	wMu.Lock()
	defer wMu.Unlock()
	_, err := conn.Write(buf.Bytes())
	return err
}

func receive(done chan<- int) {
	// One buffered reader for the whole connection; a fresh decoder per
	// message reads from it. bufio.Reader is an io.ByteReader, so gob does not
	// add its own buffer and never swallows the next message.
	r := bufio.NewReader(conn)
	for {
		var m Message
		if err := gob.NewDecoder(r).Decode(&m); err != nil {
			if atomic.LoadInt32(&leaving) == 1 {
				return
			}
			say("Lost connection to server")
			done <- 1
			return
		}
		if m.Exit {
			say("Server has shut down, exiting...")
			done <- 0
			return
		}
		say("%s: %s", m.From, m.Content)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "server address host:port")
	user := flag.String("user", "", "your user name")
	flag.Parse()
	if *user == "" {
		fmt.Fprintln(os.Stderr, "usage: client -addr host:port -user name")
		os.Exit(2)
	}

	var err error
	conn, err = net.Dial("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot connect:", err)
		os.Exit(1)
	}
	if err := send(Message{From: *user, Register: true}); err != nil {
		fmt.Fprintln(os.Stderr, "register failed:", err)
		os.Exit(1)
	}
	say("connected as %s", *user)

	done := make(chan int, 2)
	go receive(done)
	go func() {
		in := bufio.NewScanner(os.Stdin)
		in.Buffer(make([]byte, 64*1024), 1024*1024)
		for in.Scan() {
			line := strings.TrimRight(in.Text(), "\r")
			if strings.TrimSpace(line) == "EXIT" {
				break
			}
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			if fields[0] != "send" || len(fields) < 2 {
				fmt.Fprintln(os.Stderr, "commands: send <user> <text> | EXIT")
				continue
			}
			// keep the text exactly as typed after "send <user> "
			rest := strings.TrimLeft(line, " \t")[len("send"):]
			rest = strings.TrimLeft(rest, " \t")[len(fields[1]):]
			text := strings.TrimPrefix(rest, " ")
			if err := send(Message{To: fields[1], From: *user, Content: text}); err != nil {
				say("Lost connection to server")
				done <- 1
				return
			}
		}
		atomic.StoreInt32(&leaving, 1)
		send(Message{From: *user, Exit: true})
		conn.Close()
		done <- 0
	}()
	os.Exit(<-done)
}
