// offline-queue chat server, seed 004 wire: proto3 messages written one per
// socket write with no length prefix.  Port from $OQ_PORT, prints nothing,
// stops on SIGTERM or when "quit" is typed on its console.
package main

import (
	"bufio"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
)

const (
	protoVersion = "0.1"
	maxName      = 25
	maxText      = 100
	maxPattern   = 64
	maxPending   = 64 * 1024
	outboxSize   = 512
)

type queued struct {
	from, text string
}

type account struct {
	name    string
	created int
	online  *session
	inbox   []queued
}

type outgoing struct {
	reply *Server2Client
	// set for pushes, so an unwritten push can go back to the inbox
	pushFor  string
	pushItem queued
}

type session struct {
	conn    net.Conn
	user    string // "" when not logged in
	dead    bool
	out     chan outgoing
	done    chan struct{}
	closeMu sync.Once
}

type server struct {
	mu       sync.Mutex
	accounts map[string]*account
	serial   int
}

func newServer() *server {
	return &server{accounts: map[string]*account{}}
}

func mk(op int32, msg string) *Server2Client {
	return &Server2Client{Version: protoVersion, Opcode: op, Msg: msg}
}

// ---------------------------------------------------------------- sessions

func (s *server) newSession(c net.Conn) *session {
	ss := &session{conn: c, out: make(chan outgoing, outboxSize), done: make(chan struct{})}
	go s.writer(ss)
	return ss
}

func (s *server) writer(ss *session) {
	var lastWrite time.Time
	for {
		select {
		case o := <-ss.out:
			data, err := proto.Marshal(o.reply)
			if err == nil {
				// no framing on this wire: leave a reader a moment to take
				// the previous message before the next one lands
				if gap := time.Since(lastWrite); gap < 5*time.Millisecond {
					time.Sleep(5*time.Millisecond - gap)
				}
				lastWrite = time.Now()
				s.mu.Lock()
				dead := ss.dead
				s.mu.Unlock()
				if dead && o.pushFor != "" {
					err = fmt.Errorf("connection gone")
				} else {
					_, err = ss.conn.Write(data)
				}
			}
			if err != nil {
				s.requeue(ss, o)
				return
			}
		case <-ss.done:
			s.requeue(ss, outgoing{})
			return
		}
	}
}

// requeue puts every push that was not written back at the front of its
// account's inbox (in order) and takes the session offline.
func (s *server) requeue(ss *session, failed outgoing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss.dead = true
	lost := map[string][]queued{}
	var order []string
	add := func(o outgoing) {
		if o.pushFor == "" {
			return
		}
		if _, ok := lost[o.pushFor]; !ok {
			order = append(order, o.pushFor)
		}
		lost[o.pushFor] = append(lost[o.pushFor], o.pushItem)
	}
	add(failed)
	for {
		select {
		case o := <-ss.out:
			add(o)
			continue
		default:
		}
		break
	}
	for _, name := range order {
		if a, ok := s.accounts[name]; ok {
			a.inbox = append(append([]queued{}, lost[name]...), a.inbox...)
		}
	}
	s.offline(ss)
}

// offline: caller holds s.mu.
func (s *server) offline(ss *session) {
	if ss.user == "" {
		return
	}
	if a, ok := s.accounts[ss.user]; ok && a.online == ss {
		a.online = nil
	}
	ss.user = ""
}

// alive peeks at the socket without consuming: a peer that has closed shows
// up as readable with zero bytes.  Caller holds s.mu.
func alive(ss *session) bool {
	if ss.dead {
		return false
	}
	tc, ok := ss.conn.(*net.TCPConn)
	if !ok {
		return true
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	ok = true
	cerr := rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err == syscall.EAGAIN || err == syscall.EINTR {
			return
		}
		if err != nil || n == 0 {
			ok = false
		}
	})
	return ok && cerr == nil
}

func (s *server) reply(ss *session, op int32, msg string) {
	select {
	case ss.out <- outgoing{reply: mk(op, msg)}:
	case <-ss.done:
	}
}

// ---------------------------------------------------------------- matching

// match: '*' any run of characters, '_' exactly one, all else literal.
// Iterative with a single backtrack point: linear-ish, never exponential.
func match(pattern, name string) bool {
	p, n := []rune(pattern), []rune(name)
	pi, ni, star, mark := 0, 0, -1, 0
	for ni < len(n) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ni
			pi++
		case pi < len(p) && (p[pi] == '_' || p[pi] == n[ni]):
			pi++
			ni++
		case star >= 0:
			pi = star + 1
			mark++
			ni = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func (a account) drain() string {
	var b strings.Builder
	for _, q := range a.inbox {
		b.WriteString(q.from + ":" + q.text + "\n")
	}
	a.inbox = nil
	return b.String()
}

// ---------------------------------------------------------------- requests

func (s *server) handle(ss *session, req *Client2Server) {
	switch req.Opcode {
	case 1: // create
		name := req.Msg
		switch {
		case name == "" || utf8.RuneCountInString(name) > maxName:
			s.reply(ss, 2, fmt.Sprintf("name must have 1-%d characters", maxName))
			return
		case strings.ContainsAny(name, "*:\n"):
			s.reply(ss, 2, "name may not contain '*', ':' or a newline")
			return
		}
		s.mu.Lock()
		_, taken := s.accounts[name]
		if !taken {
			s.serial++
			s.accounts[name] = &account{name: name, created: s.serial}
		}
		s.mu.Unlock()
		if taken {
			s.reply(ss, 2, "name exists: "+name)
		} else {
			s.reply(ss, 1, "created "+name)
		}

	case 2: // log in
		name := req.Msg
		s.mu.Lock()
		a, ok := s.accounts[name]
		var op int32
		var text string
		switch {
		case !ok:
			op, text = 14, "no such account: "+name
		case ss.user == name:
			op, text = 15, "already logged in as "+name
		default:
			prev := ss.user
			s.offline(ss)
			if a.online != nil && a.online != ss {
				a.online.user = "" // the other place is logged out
			}
			a.online = ss
			ss.user = name
			if prev != "" {
				op, text = 16, "switched from "+prev+" to "+name
			} else {
				op, text = 13, "logged in as "+name
			}
		}
		s.mu.Unlock()
		s.reply(ss, op, text)

	case 3: // send
		s.mu.Lock()
		me := ss.user
		target, ok := s.accounts[req.Receiver]
		var op int32
		var text string
		switch {
		case me == "":
			op, text = 4, "not logged in"
		case !ok:
			op, text = 5, "no such recipient: "+req.Receiver
		case utf8.RuneCountInString(req.Msg) > maxText:
			op, text = 5, fmt.Sprintf("message too long: %d characters, limit %d", utf8.RuneCountInString(req.Msg), maxText)
		default:
			item := queued{from: me, text: req.Msg}
			waiting := false
			for _, q := range target.inbox {
				if q.from == me {
					waiting = true // keep this sender's order: go behind it
					break
				}
			}
			pushed := false
			if r := target.online; r != nil && !waiting {
				if alive(r) {
					select {
					case r.out <- outgoing{reply: mk(17, me+":"+req.Msg+"\n"), pushFor: target.name, pushItem: item}:
						pushed = true
					default: // recipient is not reading; keep it for check
					}
				} else {
					r.dead = true
					s.offline(r)
				}
			}
			if !pushed {
				target.inbox = append(target.inbox, item)
				op, text = 3, "sent (queued) to "+req.Receiver
			} else {
				op, text = 3, "sent to "+req.Receiver
			}
		}
		s.mu.Unlock()
		s.reply(ss, op, text)

	case 4: // check
		s.mu.Lock()
		if ss.user == "" {
			s.mu.Unlock()
			s.reply(ss, 7, "not logged in")
			return
		}
		text := s.accounts[ss.user].drain()
		s.mu.Unlock()
		s.reply(ss, 6, text)

	case 5: // delete
		s.mu.Lock()
		if ss.user == "" {
			s.mu.Unlock()
			s.reply(ss, 9, "log in first")
			return
		}
		a := s.accounts[ss.user]
		text := a.drain()
		delete(s.accounts, a.name)
		a.online = nil
		ss.user = ""
		s.mu.Unlock()
		s.reply(ss, 8, text)

	case 6: // list
		pattern := req.Msg
		if pattern == "" {
			pattern = "*"
		}
		if utf8.RuneCountInString(pattern) > maxPattern {
			s.reply(ss, 18, fmt.Sprintf("pattern longer than %d characters", maxPattern))
			return
		}
		s.mu.Lock()
		var found []*account
		for _, a := range s.accounts {
			if match(pattern, a.name) {
				found = append(found, a)
			}
		}
		s.mu.Unlock()
		sort.Slice(found, func(i, j int) bool { return found[i].created < found[j].created })
		names := make([]string, len(found))
		for i, a := range found {
			names[i] = a.name
		}
		s.reply(ss, 10, strings.Join(names, "\n"))

	case 7: // quit
		s.mu.Lock()
		who := ss.user
		s.offline(ss)
		s.mu.Unlock()
		if who == "" {
			s.reply(ss, 12, "not logged in")
		} else {
			s.reply(ss, 11, "logged out "+who)
		}

	default:
		log.Printf("%s: ignoring opcode %d", ss.conn.RemoteAddr(), req.Opcode)
	}
}

func (s *server) serve(c net.Conn) {
	ss := s.newSession(c)
	defer func() {
		s.mu.Lock()
		ss.dead = true
		s.offline(ss)
		s.mu.Unlock()
		// let queued replies go out, then stop the writer
		time.Sleep(50 * time.Millisecond)
		ss.closeMu.Do(func() { close(ss.done) })
		c.Close()
	}()
	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 4096)
	for {
		n, err := c.Read(chunk)
		if n > 0 {
			buf = append(buf, chunk[:n]...)
			msgs, used, perr := splitMessages(buf)
			if perr != nil {
				log.Printf("%s: dropping %d unreadable bytes: %v", c.RemoteAddr(), len(buf), perr)
				buf = buf[:0]
				continue
			}
			for _, m := range msgs {
				req := &Client2Server{}
				if err := proto.Unmarshal(m, req); err != nil {
					log.Printf("%s: bad message: %v", c.RemoteAddr(), err)
					continue
				}
				s.handle(ss, req)
			}
			buf = append(buf[:0], buf[used:]...)
			if len(buf) > maxPending {
				log.Printf("%s: request too large, dropped", c.RemoteAddr())
				buf = buf[:0]
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	log.SetFlags(log.Ltime)
	port := os.Getenv("OQ_PORT")
	if port == "" {
		fmt.Fprintln(os.Stderr, "set OQ_PORT to the port to listen on")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		log.Fatal(err)
	}
	s := newServer()
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		ln.Close()
		os.Exit(0)
	}()
	go func() {
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			if strings.TrimSpace(in.Text()) == "quit" {
				ln.Close()
				os.Exit(0)
			}
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go s.serve(c)
	}
}
