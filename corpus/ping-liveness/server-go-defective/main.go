// Command server is a ping-liveness chat server speaking newline-delimited
// JSON over TCP.
//
// Configuration comes from the environment:
//
//	PING_PORT        port to listen on (required)
//	PING_TIMEOUT_MS  heartbeat timeout in milliseconds (default 25000)
//
// It prints nothing when it is ready. Type "quit" on its console to stop it.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	mLoginRequest    = 1
	mLoginResponse   = 2
	mChat            = 3
	mLogout          = 4
	mError           = 5
	mPing            = 6
	mVersionRequest  = 7
	mVersionResponse = 8

	errSessionNotFound = 1
	errTimeout         = 2
	errElsewhere       = 3
	errVersion         = 5

	defaultTimeoutMs = 25000
)

var protoVersions = []string{"1.0.0"}

var accounts = map[string]string{"user1": "pass1", "user2": "pass2"}

type envelope struct {
	Mtype   int             `json:"mtype"`
	Payload json.RawMessage `json:"payload"`
	Version string          `json:"version"`
	Sz      int             `json:"sz"`
}

type session struct {
	id       string
	user     string
	c        *conn
	lastSeen time.Time
}

type conn struct {
	nc      net.Conn
	wmu     sync.Mutex
	version string
	sess    *session // guarded by server.mu
}

func (c *conn) send(mtype int, payload interface{}) {
	body, err := json.Marshal(payload)
	if err != nil {
		log.Printf("marshal: %v", err)
		return
	}
	v := c.version
	if v == "" {
		v = protoVersions[0]
	}
	out, _ := json.Marshal(envelope{Mtype: mtype, Payload: body, Version: v, Sz: len(body)})
	out = append(out, '\n')
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.nc.Write(out)
}

func (c *conn) sendError(id interface{}, code int, text string) {
	c.send(mError, map[string]interface{}{"id": id, "error_code": code, "message": text})
}

type server struct {
	mu      sync.Mutex
	byUser  map[string]*session
	timeout time.Duration
}

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "s-" + hex.EncodeToString(b)
}

// drop forgets a session. Caller holds s.mu.
func (s *server) drop(sess *session) {
	if s.byUser[sess.user] == sess {
		delete(s.byUser, sess.user)
	}
	if sess.c.sess == sess {
		sess.c.sess = nil
	}
}

func (s *server) sweep() {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		now := time.Now()
		var expired []*session
		s.mu.Lock()
		for _, sess := range s.byUser {
			if now.Sub(sess.lastSeen) > s.timeout {
				delete(s.byUser, sess.id)
				sess.c.sess = nil
				expired = append(expired, sess)
			}
		}
		s.mu.Unlock()
		for _, sess := range expired {
			log.Printf("%s: no heartbeat for %v, dropping session", sess.user, s.timeout)
			sess.c.sendError(sess.id, errTimeout, "heartbeat timeout")
			sess.c.nc.Close()
		}
	}
}

func (s *server) serve(nc net.Conn) {
	c := &conn{nc: nc}
	defer func() {
		s.mu.Lock()
		if c.sess != nil {
			log.Printf("%s: connection lost", c.sess.user)
			s.drop(c.sess)
		}
		s.mu.Unlock()
		nc.Close()
	}()
	sc := bufio.NewScanner(nc)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var env envelope
		if err := json.Unmarshal([]byte(line), &env); err != nil {
			log.Printf("%v: bad message: %v", nc.RemoteAddr(), err)
			continue
		}
		s.mu.Lock()
		if c.sess != nil {
			c.sess.lastSeen = time.Now()
		}
		s.mu.Unlock()
		if !s.handle(c, env) {
			return
		}
	}
}

// handle processes one message; it returns false when the connection should close.
func (s *server) handle(c *conn, env envelope) bool {
	var p map[string]interface{}
	if len(env.Payload) > 0 {
		json.Unmarshal(env.Payload, &p)
	}
	if p == nil {
		p = map[string]interface{}{}
	}
	switch env.Mtype {
	case mVersionRequest:
		offered, _ := p["supported_versions"].([]interface{})
		for _, mine := range protoVersions {
			for _, o := range offered {
				if str, ok := o.(string); ok && str == mine {
					c.version = mine
					c.send(mVersionResponse, map[string]interface{}{"selected_version": mine, "success": true})
					return true
				}
			}
		}
		c.send(mVersionResponse, map[string]interface{}{"selected_version": nil, "success": false})
		c.sendError(nil, errVersion, "no common protocol version (server supports "+strings.Join(protoVersions, ",")+")")
		return false

	case mLoginRequest:
		user, _ := p["username"].(string)
		pass, _ := p["password"].(string)
		want, known := accounts[user]
		if !known || pass != want {
			c.send(mLoginResponse, map[string]interface{}{"auth": 1, "id": ""})
			return true
		}
		s.mu.Lock()
		if c.sess != nil {
			id := c.sess.id
			s.mu.Unlock()
			c.sendError(id, errElsewhere, "already logged in on this connection")
			return true
		}
		if _, taken := s.byUser[user]; taken {
			s.mu.Unlock()
			c.sendError(nil, errElsewhere, "user "+user+" is logged in from another location")
			return true
		}
		sess := &session{id: newID(), user: user, c: c, lastSeen: time.Now()}
		s.byUser[user] = sess
		c.sess = sess
		s.mu.Unlock()
		log.Printf("%s: logged in as %s", c.nc.RemoteAddr(), user)
		c.send(mLoginResponse, map[string]interface{}{"auth": 0, "id": sess.id})
		return true

	case mChat, mPing, mLogout:
		claimed := p["id"]
		s.mu.Lock()
		sess := c.sess
		if sess == nil || fmt.Sprint(claimed) != sess.id {
			s.mu.Unlock()
			c.sendError(claimed, errSessionNotFound, "session not found")
			return true
		}
		if env.Mtype == mLogout {
			s.drop(sess)
		}
		s.mu.Unlock()
		switch env.Mtype {
		case mChat:
			c.send(mChat, map[string]interface{}{"id": sess.id, "time": p["time"], "message": p["message"]})
		case mLogout:
			log.Printf("%s: logged out", sess.user)
			return false // no reply: the connection is closed
		}
		return true
	}
	log.Printf("unknown mtype %d", env.Mtype)
	return true
}

func main() {
	log.SetFlags(log.Ltime)
	port := os.Getenv("PING_PORT")
	if port == "" {
		fmt.Fprintln(os.Stderr, "PING_PORT is not set")
		os.Exit(2)
	}
	timeoutMs := defaultTimeoutMs
	if v := os.Getenv("PING_TIMEOUT_MS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "bad PING_TIMEOUT_MS:", v)
			os.Exit(2)
		}
		timeoutMs = n
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		log.Fatal(err)
	}
	s := &server{byUser: map[string]*session{}, timeout: time.Duration(timeoutMs) * time.Millisecond}
	go s.sweep()

	go func() {
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			if strings.TrimSpace(in.Text()) == "quit" {
				log.Printf("quit typed on the console, shutting down")
				os.Exit(0)
			}
		}
		// console closed: keep serving until killed
	}()

	for {
		nc, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go s.serve(nc)
	}
}
