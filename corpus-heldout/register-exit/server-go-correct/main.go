// Routing chat server: clients register a user name, then send messages
// to other registered users. The server speaks Go gob (a fresh encoder
// per message, like the original assignment) or JSON lines with -json.
package main

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

type Message struct {
	To       string
	From     string
	Content  string
	Register bool
	Exit     bool
}

type client struct {
	conn net.Conn
	name string     // set once, when the client registers
	wmu  sync.Mutex // one writer at a time on this connection
}

var (
	jsonWire bool
	mu       sync.Mutex
	users    = map[string]*client{} // registered name -> client
	everyone = map[*client]bool{}   // every open connection
	closing  bool
)

func encode(m Message) []byte {
	var buf bytes.Buffer
	if jsonWire {
		b, _ := json.Marshal(m)
		buf.Write(b)
		buf.WriteByte('\n')
	} else {
		gob.NewEncoder(&buf).Encode(m) // new encoder: type definition + value
	}
	return buf.Bytes()
}

func (c *client) send(m Message) error {
	data := encode(m)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.conn.Write(data)
	return err
}

func (c *client) sendError(text string) {
	c.send(Message{To: c.name, From: "Error", Content: text})
}

// reader returns a function that reads one message from the connection.
// A single buffered reader is kept for the whole connection so that
// messages arriving back to back are never lost.
func reader(c *client) func(*Message) error {
	br := bufio.NewReaderSize(c.conn, 64*1024)
	if jsonWire {
		return func(m *Message) error {
			for {
				line, err := br.ReadString('\n')
				if len(line) > 1<<20 {
					return fmt.Errorf("line too long")
				}
				line = strings.TrimSpace(line)
				if line != "" {
					*m = Message{}
					if json.Unmarshal([]byte(line), m) == nil {
						return nil
					}
					c.sendError("Malformed message")
				}
				if err != nil {
					return err
				}
			}
		}
	}
	return func(m *Message) error {
		*m = Message{}
		return gob.NewDecoder(br).Decode(m)
	}
}

func handle(c *client) {
	defer drop(c)
	read := reader(c)
	for {
		var m Message
		if err := read(&m); err != nil {
			return
		}
		if m.Exit {
			return // the client leaves: only its own registration goes
		}
		if c.name == "" {
			if !register(c, m) {
				return
			}
			continue
		}
		if m.Register {
			c.sendError("You are already registered as " + c.name)
			continue
		}
		mu.Lock()
		dst := users[m.To]
		mu.Unlock()
		if dst == nil {
			c.sendError("That user is not connected to this server")
			continue
		}
		// the sender is whoever registered on this connection
		out := Message{To: m.To, From: c.name, Content: m.Content}
		if err := dst.send(out); err != nil {
			dst.conn.Close()
			c.sendError("That user is not connected to this server")
		}
	}
}

// register handles the first message of a connection. It returns false
// when the connection should be closed.
func register(c *client, m Message) bool {
	name := strings.TrimSpace(m.From)
	if !m.Register || name == "" {
		c.sendError("You must register a user name first")
		return true
	}
	if name == "Error" || name == "Server" {
		c.sendError("The name " + name + " is reserved")
		return false
	}
	mu.Lock()
	if _, taken := users[name]; taken {
		mu.Unlock()
		c.sendError("The name " + name + " is already in use")
		return false
	}
	users[name] = c
	c.name = name
	mu.Unlock()
	fmt.Printf("registered %s from %s\n", name, c.conn.RemoteAddr())
	return true
}

func drop(c *client) {
	mu.Lock()
	delete(everyone, c)
	if c.name != "" && users[c.name] == c {
		delete(users, c.name)
		fmt.Printf("%s left\n", c.name)
	}
	mu.Unlock()
	c.conn.Close()
}

func shutdown() {
	mu.Lock()
	if closing {
		mu.Unlock()
		return
	}
	closing = true
	list := make([]*client, 0, len(everyone))
	for c := range everyone {
		list = append(list, c)
	}
	mu.Unlock()
	for _, c := range list {
		c.send(Message{To: c.name, From: "Server", Content: "Server is shutting down", Exit: true})
		c.conn.Close()
	}
	fmt.Println("Server stopped")
	os.Exit(0)
}

func main() {
	flag.BoolVar(&jsonWire, "json", false, "speak JSON lines instead of gob")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: server [-json] PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", ":"+flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot listen:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; shutdown() }()
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "EXIT" {
				shutdown()
			}
		}
		// stdin closed: keep serving, SIGTERM still stops the server
	}()
	fmt.Printf("Server listening on port %s\n", flag.Arg(0))
	for {
		conn, err := ln.Accept()
		if err != nil {
			continue
		}
		c := &client{conn: conn}
		mu.Lock()
		if closing {
			mu.Unlock()
			conn.Close()
			continue
		}
		everyone[c] = true
		mu.Unlock()
		go handle(c)
	}
}
