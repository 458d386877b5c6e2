// ping-liveness server over QUIC (quic-go): a defective twin of server-go-quic
// with one bug, version-failure-left-open (see impl.json).
//
// Wire: QUIC + TLS, ALPN "echo-protocol". Every message is one JSON object
// {"mtype","payload","version","sz"} written on a stream with no delimiter. The
// client opens a bidirectional stream per request; this server answers on the
// stream the request came on and opens a stream of its own for what it sends
// unprompted (the heartbeat-timeout error). A stream is read with a JSON decoder,
// so several objects in one write and one object split across writes both work.
//
// Session identity comes from the QUIC connection: an id in a payload that is
// not this connection's own session gets ERROR 1 and changes nothing.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	quic "github.com/lucas-clemente/quic-go"
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

	protocolVersion = "1.0.0"
	alpn            = "echo-protocol"
)

var accounts = map[string]string{"user1": "pass1", "user2": "pass2"}

type message struct {
	Mtype   int             `json:"mtype"`
	Payload json.RawMessage `json:"payload"`
	Version string          `json:"version"`
	Sz      int             `json:"sz"`
}

// conn is one client connection and the session bound to it, if any.
type conn struct {
	qc       quic.Connection
	mu       sync.Mutex // guards writes that open streams and the fields below
	session  string
	user     string
	lastSeen time.Time
}

type server struct {
	mu      sync.Mutex
	byUser  map[string]*conn // logged-in user -> its connection
	timeout time.Duration
}

func encode(mtype int, payload interface{}) []byte {
	p, _ := json.Marshal(payload)
	b, _ := json.Marshal(message{Mtype: mtype, Payload: p, Version: protocolVersion, Sz: len(p)})
	return b
}

func newSessionID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "s-" + hex.EncodeToString(b)
}

func selfSignedTLS() *tls.Config {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{alpn}}
}

// reply writes one message as one stream write.
func reply(s quic.Stream, mtype int, payload interface{}) {
	if _, err := s.Write(encode(mtype, payload)); err != nil {
		log.Printf("write: %v", err)
	}
}

// push sends an unprompted message on a stream of the server's own.
func push(c *conn, mtype int, payload interface{}) {
	s, err := c.qc.OpenStream()
	if err != nil {
		return
	}
	_, _ = s.Write(encode(mtype, payload))
	_ = s.Close()
}

func errorPayload(id interface{}, code int, text string) map[string]interface{} {
	return map[string]interface{}{"id": id, "error_code": code, "message": text}
}

// endSession forgets c's session (logout, timeout or a closed connection).
func (sv *server) endSession(c *conn) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.user != "" && sv.byUser[c.user] == c {
		delete(sv.byUser, c.user)
	}
	c.user, c.session = "", ""
}

// own checks that the payload's id is this connection's session.
func (c *conn) own(id interface{}) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.session == "" {
		return false
	}
	s, ok := id.(string)
	return ok && s == c.session
}

func (sv *server) touch(c *conn) {
	c.mu.Lock()
	c.lastSeen = time.Now()
	c.mu.Unlock()
}

func (sv *server) handle(c *conn, s quic.Stream, m message) {
	var p map[string]interface{}
	_ = json.Unmarshal(m.Payload, &p)
	switch m.Mtype {
	case mVersionRequest:
		offered, _ := p["supported_versions"].([]interface{})
		for _, v := range offered {
			if v == protocolVersion {
				reply(s, mVersionResponse, map[string]interface{}{"selected_version": protocolVersion, "success": true})
				return
			}
		}
		// DEFECT (version-failure-left-open): no ERROR 5 and the connection
		// stays open, so a client that waits for an error or a close hangs.
		reply(s, mVersionResponse, map[string]interface{}{"selected_version": nil, "success": false})
	case mLoginRequest:
		user, _ := p["username"].(string)
		pass, _ := p["password"].(string)
		if want, ok := accounts[user]; !ok || want != pass {
			reply(s, mLoginResponse, map[string]interface{}{"auth": 1, "id": ""})
			return
		}
		sv.mu.Lock()
		if other, ok := sv.byUser[user]; ok && other != c {
			sv.mu.Unlock()
			reply(s, mError, errorPayload(nil, errElsewhere, "logged in from another location"))
			return
		}
		c.mu.Lock()
		if c.user != "" && c.user != user {
			delete(sv.byUser, c.user) // this connection switches user
		}
		if c.user != user {
			c.session = newSessionID()
		}
		c.user = user
		c.lastSeen = time.Now()
		id := c.session
		c.mu.Unlock()
		sv.byUser[user] = c
		sv.mu.Unlock()
		log.Printf("login %s as %s", user, id)
		reply(s, mLoginResponse, map[string]interface{}{"auth": 0, "id": id})
	case mChat:
		if !c.own(p["id"]) {
			reply(s, mError, errorPayload(p["id"], errSessionNotFound, "session not found"))
			return
		}
		sv.touch(c)
		reply(s, mChat, p)
	case mPing:
		if !c.own(p["id"]) {
			reply(s, mError, errorPayload(p["id"], errSessionNotFound, "session not found"))
			return
		}
		sv.touch(c)
	case mLogout:
		if !c.own(p["id"]) {
			reply(s, mError, errorPayload(p["id"], errSessionNotFound, "session not found"))
			return
		}
		log.Printf("logout %v", p["id"])
		sv.endSession(c)
	default:
		reply(s, mError, errorPayload(p["id"], 0, "unknown message type "+strconv.Itoa(m.Mtype)))
	}
}

// serveStream reads every message on one stream until the peer finishes or
// resets it, then finishes the server's side too so the stream is released.
func (sv *server) serveStream(c *conn, s quic.Stream) {
	defer s.Close()
	dec := json.NewDecoder(s)
	for {
		var m message
		if err := dec.Decode(&m); err != nil {
			if err != io.EOF {
				log.Printf("stream %d: %v", s.StreamID(), err)
				s.CancelRead(1)
			}
			return
		}
		sv.handle(c, s, m)
	}
}

func (sv *server) serveConn(qc quic.Connection) {
	c := &conn{qc: qc}
	log.Printf("connection from %s", qc.RemoteAddr())
	defer func() {
		// A closed connection ends its session at once.
		sv.endSession(c)
		log.Printf("connection from %s closed", qc.RemoteAddr())
	}()
	for {
		s, err := qc.AcceptStream(context.Background())
		if err != nil {
			return
		}
		go sv.serveStream(c, s)
	}
}

// sweep drops sessions not heard from within the timeout.
func (sv *server) sweep() {
	for range time.Tick(250 * time.Millisecond) {
		var expired []*conn
		sv.mu.Lock()
		for _, c := range sv.byUser {
			c.mu.Lock()
			if time.Since(c.lastSeen) > sv.timeout {
				expired = append(expired, c)
			}
			c.mu.Unlock()
		}
		sv.mu.Unlock()
		for _, c := range expired {
			c.mu.Lock()
			id := c.session
			c.mu.Unlock()
			log.Printf("session %s timed out", id)
			sv.endSession(c)
			push(c, mError, errorPayload(id, errTimeout, "timeout"))
		}
	}
}

func main() {
	host := flag.String("l", "127.0.0.1", "address to listen on")
	port := flag.Int("p", 55667, "UDP port (0 picks one)")
	timeout := flag.Float64("t", 30, "heartbeat timeout in seconds")
	flag.Parse()
	log.SetOutput(os.Stderr)

	sv := &server{byUser: map[string]*conn{}, timeout: time.Duration(*timeout * float64(time.Second))}
	ln, err := quic.ListenAddr(net.JoinHostPort(*host, strconv.Itoa(*port)), selfSignedTLS(),
		&quic.Config{MaxIncomingStreams: 10000, MaxIdleTimeout: 60 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	go sv.sweep()
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		_ = ln.Close()
		os.Exit(0)
	}()
	for {
		qc, err := ln.Accept(context.Background())
		if err != nil {
			log.Fatal(err)
		}
		go sv.serveConn(qc)
	}
}
