// server-go-defective: a routing chat server for the register-exit protocol.
//
// Wire: TCP, each message is Go encoding/gob of Message written with a fresh
// encoder (type definition + value). We frame incoming gob chunks ourselves so
// that nothing is read past the end of a message and a bogus length prefix can
// not make us allocate gigabytes.
//
// Identity is bound to the connection: the first thing a connection must do is
// register; after that the From field a client fills in is ignored (replaced by
// the registered name) and an Exit naming somebody else is refused.
package main

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
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

const (
	errNotConnected = "That user is not connected to this server"
	maxChunk        = 1 << 16 // one gob chunk (type def or value) may not exceed 64 KiB
	maxChunksPerMsg = 8
	writeTimeout    = 5 * time.Second
)

// ---------------------------------------------------------------- framing

// readUint reads a gob-encoded unsigned integer.
func readUint(r *bufio.Reader) (uint64, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	if b < 0x80 {
		return uint64(b), nil
	}
	n := -int(int8(b))
	if n > 8 {
		return 0, errors.New("bad gob length prefix")
	}
	var x uint64
	for i := 0; i < n; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		x = x<<8 | uint64(c)
	}
	return x, nil
}

// chunkTypeID decodes the signed type id that starts every gob chunk.
func chunkTypeID(chunk []byte) (int64, error) {
	if len(chunk) == 0 {
		return 0, errors.New("empty gob chunk")
	}
	var u uint64
	b := chunk[0]
	if b < 0x80 {
		u = uint64(b)
	} else {
		n := -int(int8(b))
		if n > 8 || len(chunk) < 1+n {
			return 0, errors.New("bad type id")
		}
		for _, c := range chunk[1 : 1+n] {
			u = u<<8 | uint64(c)
		}
	}
	if u&1 != 0 {
		return ^int64(u >> 1), nil
	}
	return int64(u >> 1), nil
}

// readMessage returns the raw bytes of one complete gob message as a fresh
// encoder writes it: zero or more type definitions followed by one value.
func readMessage(r *bufio.Reader) ([]byte, error) {
	var all bytes.Buffer
	for i := 0; i < maxChunksPerMsg; i++ {
		n, err := readUint(r)
		if err != nil {
			if i > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if n == 0 || n > maxChunk {
			return nil, fmt.Errorf("gob chunk of %d bytes refused", n)
		}
		chunk := make([]byte, n)
		if _, err := io.ReadFull(r, chunk); err != nil {
			return nil, err
		}
		// re-emit the length prefix so the standard decoder can read it
		hdr := encodeUint(n)
		all.Write(hdr)
		all.Write(chunk)
		id, err := chunkTypeID(chunk)
		if err != nil {
			return nil, err
		}
		if id > 0 {
			return all.Bytes(), nil
		}
	}
	return nil, errors.New("too many type definitions in one message")
}

func encodeUint(x uint64) []byte {
	if x < 0x80 {
		return []byte{byte(x)}
	}
	var tmp [8]byte
	i := 8
	for x > 0 {
		i--
		tmp[i] = byte(x)
		x >>= 8
	}
	return append([]byte{byte(-(8 - i))}, tmp[i:]...)
}

func decodeMessage(raw []byte) (Message, error) {
	var m Message
	err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&m)
	return m, err
}

// ---------------------------------------------------------------- server

type client struct {
	conn net.Conn
	name string // set once registered; only touched by its own goroutine and under srv.mu
	wmu  sync.Mutex
	gone bool
}

// send writes one message in a single Write, so two goroutines forwarding to
// the same recipient never interleave a type definition with a value.
func (c *client) send(m Message) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(m); err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.gone {
		return net.ErrClosed
	}
	c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.conn.Write(buf.Bytes())
	return err
}

type server struct {
	mu      sync.Mutex
	byName  map[string]*client // keyed by lower-cased name: names are case-insensitive
	clients map[*client]struct{}
	closing bool
}

func newServer() *server {
	return &server{byName: map[string]*client{}, clients: map[*client]struct{}{}}
}

func (s *server) errorTo(c *client, text string) {
	if err := c.send(Message{From: "Error", Content: text}); err != nil {
		s.drop(c)
	}
}

// drop unregisters c (if it still owns its name) and closes its connection.
func (s *server) drop(c *client) {
	s.mu.Lock()
	if c.name != "" && s.byName[strings.ToLower(c.name)] == c {
		delete(s.byName, strings.ToLower(c.name))
		log.Printf("%s left", c.name)
	}
	delete(s.clients, c)
	s.mu.Unlock()
	c.wmu.Lock()
	c.gone = true
	c.wmu.Unlock()
	c.conn.Close()
}

func (s *server) handle(c *client) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("panic in connection %v: %v", c.conn.RemoteAddr(), r)
		}
		s.drop(c)
	}()
	r := bufio.NewReader(c.conn)
	for {
		raw, err := readMessage(r)
		if err != nil {
			if err != io.EOF {
				log.Printf("%v: %v", c.conn.RemoteAddr(), err)
			}
			return
		}
		m, err := decodeMessage(raw)
		if err != nil {
			log.Printf("%v: undecodable message: %v", c.conn.RemoteAddr(), err)
			return
		}
		if !s.dispatch(c, m) {
			return
		}
	}
}

// dispatch handles one message; false means close this connection.
func (s *server) dispatch(c *client, m Message) bool {
	switch {
	case m.Register:
		if c.name != "" {
			s.errorTo(c, "You are already registered as "+c.name)
			return true
		}
		name := m.From
		if name == "" || name == "Error" || name == "Server" {
			s.errorTo(c, "That user name is not allowed")
			return false
		}
		key := strings.ToLower(name) // "Alice" and "alice" are the same user
		s.mu.Lock()
		_, taken := s.byName[key]
		if !taken {
			c.name = name
			s.byName[key] = c
		}
		s.mu.Unlock()
		if taken {
			s.errorTo(c, "That user name is already in use")
			return false
		}
		log.Printf("%s registered from %v", name, c.conn.RemoteAddr())
		return true

	case m.Exit:
		if c.name == "" {
			return false
		}
		if m.From != "" && m.From != c.name {
			s.errorTo(c, "You can only exit as yourself")
			return true
		}
		return false

	default:
		if c.name == "" {
			s.errorTo(c, "Register a user name first")
			return true
		}
		s.mu.Lock()
		dst := s.byName[m.To]
		s.mu.Unlock()
		if dst == nil {
			s.errorTo(c, errNotConnected)
			return true
		}
		out := Message{To: m.To, From: c.name, Content: m.Content}
		if err := dst.send(out); err != nil {
			log.Printf("delivery to %s failed: %v", m.To, err)
			s.drop(dst)
			s.errorTo(c, errNotConnected)
		}
		return true
	}
}

func (s *server) shutdown() {
	s.mu.Lock()
	s.closing = true
	list := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		list = append(list, c)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range list {
		wg.Add(1)
		go func(c *client) {
			defer wg.Done()
			c.send(Message{Exit: true})
			c.conn.Close()
		}(c)
	}
	wg.Wait()
}

func main() {
	port := flag.Int("port", 9000, "TCP port to listen on (loopback)")
	flag.Parse()
	log.SetFlags(log.Ltime)
	log.SetPrefix("[server] ")

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())

	s := newServer()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		log.Printf("shutting down")
		ln.Close()
		s.shutdown()
		os.Exit(0)
	}()

	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				select {} // shutdown goroutine exits the process
			}
			log.Printf("accept: %v", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		c := &client{conn: conn}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			conn.Close()
			continue
		}
		s.clients[c] = struct{}{}
		s.mu.Unlock()
		go s.handle(c)
	}
}
