// ping-liveness server over QUIC (quic-go), written from PROTOCOLS.md §3 alone.
//
// Wire: QUIC + TLS, ALPN "echo-protocol". Every message is one JSON object
// {"mtype","payload","version","sz"} written on a stream with no delimiter. The
// client opens a bidirectional stream per request; this server answers on the
// stream the request came on and opens a stream of its own for what it sends
// unprompted (the heartbeat-timeout error). A stream is read with a JSON decoder,
// so several objects in one write and one object split across writes both work.
//
// Seed-faithful: as in the seed's design, a session is found by the id its
// payload names (ids are integers from 1), whoever sends it, so one connection
// can chat, ping or log out as another's session; and a session outlives its
// connection until LOGOUT or the heartbeat timeout.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
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

// conn is one client connection.
type conn struct {
	qc quic.Connection
}

// session is keyed by its id alone; conn is where it logged in.
type session struct {
	id       int
	user     string
	c        *conn
	lastSeen time.Time
}

type server struct {
	mu       sync.Mutex
	sessions map[int]*session
	byUser   map[string]*session
	lastID   int
	timeout  time.Duration
}

func encode(mtype int, payload interface{}) []byte {
	p, _ := json.Marshal(payload)
	b, _ := json.Marshal(message{Mtype: mtype, Payload: p, Version: protocolVersion, Sz: len(p)})
	return b
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

// lookup finds the session a payload names, whoever sent it (the seed's way).
func (sv *server) lookup(id interface{}) *session {
	n, ok := id.(float64)
	if !ok {
		return nil
	}
	return sv.sessions[int(n)]
}

func (sv *server) drop(se *session) {
	delete(sv.sessions, se.id)
	if sv.byUser[se.user] == se {
		delete(sv.byUser, se.user)
	}
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
		reply(s, mVersionResponse, map[string]interface{}{"selected_version": nil, "success": false})
		reply(s, mError, errorPayload(nil, errVersion, "unsupported version"))
		_ = s.Close()
		// Give the answer time to leave before the connection goes.
		time.AfterFunc(200*time.Millisecond, func() { _ = c.qc.CloseWithError(errVersion, "unsupported version") })
	case mLoginRequest:
		user, _ := p["username"].(string)
		pass, _ := p["password"].(string)
		if want, ok := accounts[user]; !ok || want != pass {
			reply(s, mLoginResponse, map[string]interface{}{"auth": 1, "id": nil})
			return
		}
		sv.mu.Lock()
		if _, ok := sv.byUser[user]; ok {
			sv.mu.Unlock()
			reply(s, mError, errorPayload(nil, errElsewhere, "logged in from another location"))
			return
		}
		sv.lastID++
		se := &session{id: sv.lastID, user: user, c: c, lastSeen: time.Now()}
		sv.sessions[se.id], sv.byUser[user] = se, se
		sv.mu.Unlock()
		log.Printf("login %s as %d", user, se.id)
		reply(s, mLoginResponse, map[string]interface{}{"auth": 0, "id": se.id})
	case mChat, mPing, mLogout:
		sv.mu.Lock()
		se := sv.lookup(p["id"])
		if se == nil {
			sv.mu.Unlock()
			reply(s, mError, errorPayload(p["id"], errSessionNotFound, "session not found"))
			return
		}
		se.lastSeen = time.Now()
		if m.Mtype == mLogout {
			log.Printf("logout %d", se.id)
			sv.drop(se)
		}
		sv.mu.Unlock()
		if m.Mtype == mChat {
			reply(s, mChat, p)
		}
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
	// As in the seed, a closed connection does not end its session: only the
	// heartbeat timeout (or a LOGOUT) does.
	defer log.Printf("connection from %s closed", qc.RemoteAddr())
	for {
		s, err := qc.AcceptStream(context.Background())
		if err != nil {
			return
		}
		go sv.serveStream(c, s)
	}
}

// sweep drops sessions not heard from within the timeout and tells their
// connection (which stays open).
func (sv *server) sweep() {
	for range time.Tick(250 * time.Millisecond) {
		var expired []*session
		sv.mu.Lock()
		for _, se := range sv.sessions {
			if time.Since(se.lastSeen) > sv.timeout {
				expired = append(expired, se)
				sv.drop(se)
			}
		}
		sv.mu.Unlock()
		for _, se := range expired {
			log.Printf("session %d timed out", se.id)
			push(se.c, mError, errorPayload(se.id, errTimeout, "timeout"))
		}
	}
}

func main() {
	host := flag.String("l", "127.0.0.1", "address to listen on")
	port := flag.Int("p", 55667, "UDP port (0 picks one)")
	timeout := flag.Float64("t", 30, "heartbeat timeout in seconds")
	flag.Parse()
	log.SetOutput(os.Stderr)

	sv := &server{sessions: map[int]*session{}, byUser: map[string]*session{}, timeout: time.Duration(*timeout * float64(time.Second))}
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
