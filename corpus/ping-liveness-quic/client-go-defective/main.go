// A ping-liveness chat client over QUIC (ALPN echo-protocol).
//
// Flow: offer versions -> log in -> chat (each line echoed by the server) with a
// PING heartbeat -> LOGOUT on "!quit" or end of input.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	quic "github.com/lucas-clemente/quic-go"
)

// PDU types.
const (
	tLogin    = 1
	tLoginRes = 2
	tChat     = 3
	tLogout   = 4
	tErr      = 5
	tPing     = 6
	tVerReq   = 7
	tVerRes   = 8
)

type pdu struct {
	Mtype   int             `json:"mtype"`
	Payload json.RawMessage `json:"payload"`
	Version string          `json:"version"`
	Sz      int             `json:"sz"`
}

type fields map[string]interface{}

func (p pdu) fields() fields {
	f := fields{}
	d := json.NewDecoder(bytes.NewReader(p.Payload))
	d.UseNumber()
	_ = d.Decode(&f)
	return f
}

func (f fields) text(k string) string {
	switch v := f[k].(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return string(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

func (f fields) code(k string) int {
	n, err := strconv.ParseFloat(f.text(k), 64)
	if err != nil {
		return -1
	}
	return int(n)
}

// ---------------------------------------------------------------- terminal

var (
	termMu   sync.Mutex
	openLine bool // a prompt is on screen without its newline
)

func say(format string, a ...interface{}) {
	termMu.Lock()
	defer termMu.Unlock()
	if openLine {
		fmt.Print("\n")
		openLine = false
	}
	fmt.Printf(format+"\n", a...)
}

func endLine() {
	termMu.Lock()
	if openLine {
		fmt.Print("\n")
		openLine = false
	}
	termMu.Unlock()
}

func ask(prompt string) {
	termMu.Lock()
	fmt.Print(prompt)
	openLine = true
	termMu.Unlock()
}

// ---------------------------------------------------------------- transport

type link struct {
	qc      quic.Connection
	ver     string
	in      chan pdu
	gone    chan struct{}
	writeMu sync.Mutex
}

func (l *link) post(kind int, body fields) (quic.Stream, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	frame, _ := json.Marshal(pdu{Mtype: kind, Payload: raw, Version: l.ver, Sz: len(raw)})
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	s, err := l.qc.OpenStream()
	if err != nil {
		return nil, err
	}
	if _, err = s.Write(frame); err != nil {
		return nil, err
	}
	return s, s.Close()
}

// drain turns what arrives on a stream into PDUs, one read at a time.
func (l *link) drain(s quic.ReceiveStream, finished chan<- struct{}) {
	if finished != nil {
		defer close(finished)
	}
	chunk := make([]byte, 64*1024)
	for {
		n, err := s.Read(chunk)
		if n > 0 {
			d := json.NewDecoder(bytes.NewReader(chunk[:n]))
			for {
				var p pdu
				if d.Decode(&p) != nil {
					break
				}
				select {
				case l.in <- p:
				case <-l.gone:
					return
				}
			}
		}
		if err != nil { // io.EOF: the server finished the stream
			return
		}
	}
}

func (l *link) listen() {
	go func() {
		for {
			s, err := l.qc.AcceptUniStream(context.Background())
			if err != nil {
				return
			}
			go l.drain(s, nil)
		}
	}()
	for {
		s, err := l.qc.AcceptStream(context.Background())
		if err != nil {
			close(l.gone)
			return
		}
		s.Close()
		go l.drain(s, nil)
	}
}

// call posts a PDU and reads replies on its stream; the returned channel is
// closed when the server has finished that stream.
func (l *link) call(kind int, body fields) <-chan struct{} {
	s, err := l.post(kind, body)
	if err != nil {
		return nil
	}
	fin := make(chan struct{})
	go l.drain(s, fin)
	return fin
}

func (l *link) hangUp() { _ = l.qc.CloseWithError(0, "bye") }

// ---------------------------------------------------------------- main

func main() {
	var (
		srv   = flag.String("s", "127.0.0.1", "server host")
		port  = flag.Int("p", 55667, "server port")
		every = flag.Float64("ping", 10, "heartbeat interval in seconds (0 = none)")
		vlist = flag.String("versions", "1.0.0", "comma separated versions to offer")
		ca    = flag.String("ca", "", "PEM CA file; without it the certificate is not checked")
		sni   = flag.String("name", "localhost", "TLS server name")
	)
	flag.Parse()

	tc := &tls.Config{NextProtos: []string{"echo-protocol"}, ServerName: *sni}
	if *ca == "" {
		tc.InsecureSkipVerify = true
	} else {
		data, err := os.ReadFile(*ca)
		roots := x509.NewCertPool()
		if err != nil || !roots.AppendCertsFromPEM(data) {
			fmt.Fprintf(os.Stderr, "bad -ca file %s\n", *ca)
			os.Exit(2)
		}
		tc.RootCAs = roots
	}
	target := net.JoinHostPort(*srv, strconv.Itoa(*port))
	dctx, stop := context.WithTimeout(context.Background(), 15*time.Second)
	qc, err := quic.DialAddrContext(dctx, target, tc, &quic.Config{KeepAlivePeriod: 5 * time.Second, MaxIdleTimeout: time.Minute})
	stop()
	if err != nil {
		say("could not reach %s (%v)", target, err)
		os.Exit(2)
	}

	offer := []string{}
	for _, v := range strings.Split(*vlist, ",") {
		if v = strings.TrimSpace(v); v != "" {
			offer = append(offer, v)
		}
	}
	if len(offer) == 0 {
		offer = []string{"1.0.0"}
	}
	l := &link{qc: qc, ver: offer[0], in: make(chan pdu, 32), gone: make(chan struct{})}
	go l.listen()

	keyboard := make(chan string)
	go func() {
		r := bufio.NewReader(os.Stdin)
		for {
			s, err := r.ReadString('\n')
			if s != "" {
				keyboard <- strings.TrimRight(s, "\r\n")
			}
			if err != nil {
				close(keyboard)
				return
			}
		}
	}()

	// ---- version negotiation
	l.call(tVerReq, fields{"supported_versions": offer})
negotiate:
	for {
		select {
		case <-l.gone:
			say("no common protocol version: connection closed")
			os.Exit(2)
		case p := <-l.in:
			f := p.fields()
			if p.Mtype == tVerRes {
				if f["success"] == true && f.text("selected_version") != "" {
					l.ver = f.text("selected_version")
					say("negotiated protocol version %s", l.ver)
					break negotiate
				}
				say("no common protocol version")
				l.hangUp()
				os.Exit(2)
			}
			if p.Mtype == tErr {
				if m := f.text("message"); m != "" {
					say("no common protocol version: %s", m)
				} else {
					say("no common protocol version")
				}
				l.hangUp()
				os.Exit(2)
			}
		}
	}

	// ---- login
	var me string
	var sid interface{}
	loggedIn := false
	for !loggedIn {
		ask("Username: ")
		name, more := <-keyboard
		if !more {
			endLine()
			l.hangUp()
			return
		}
		ask("Password: ")
		secret, more := <-keyboard
		if !more {
			endLine()
			l.hangUp()
			return
		}
		me = strings.TrimSpace(name)
		l.call(tLogin, fields{"username": me, "password": secret})
	reply:
		for {
			select {
			case <-l.gone:
				say("server hung up")
				os.Exit(1)
			case p := <-l.in:
				f := p.fields()
				switch p.Mtype {
				case tLoginRes:
					if f.code("auth") == 0 {
						sid, loggedIn = f["id"], true
						say("login ok: %s", me)
					} else {
						say("login refused: bad credentials")
					}
					break reply
				case tErr:
					if f.code("error_code") == 3 {
						say("login refused: %s already has a session", me)
					} else {
						say("login refused (code %s): %s", f.text("error_code"), f.text("message"))
					}
					break reply
				}
			}
		}
	}

	// ---- chat
	var tick <-chan time.Time
	if *every > 0 {
		t := time.NewTicker(time.Duration(*every * float64(time.Second)))
		defer t.Stop()
		tick = t.C
	}
	inFlight := 0
	input := keyboard
	ask("you> ")
	for input != nil {
		select {
		case <-tick:
			l.call(tPing, fields{"id": sid})
		case <-l.gone:
			say("server hung up")
			os.Exit(1)
		case p := <-l.in:
			f := p.fields()
			switch p.Mtype {
			case tChat:
				if inFlight > 0 {
					inFlight--
				}
				say("server> %s", f.text("message"))
			case tErr:
				if f.code("error_code") == 2 {
					say("heartbeat timeout: session dropped")
					l.hangUp()
					os.Exit(1)
				}
				say("error %s from server: %s", f.text("error_code"), f.text("message"))
			}
		case text, more := <-input:
			if !more || strings.TrimSpace(text) == "!quit" {
				input = nil
				break
			}
			if strings.TrimSpace(text) != "" {
				inFlight++
				l.call(tChat, fields{"id": sid, "time": time.Now().UTC().Format(time.RFC3339), "message": text})
			}
			ask("you> ")
		}
	}

	// ---- leave: let pending echoes arrive, then LOGOUT
	grace := time.After(time.Second)
	for inFlight > 0 {
		select {
		case p := <-l.in:
			if p.Mtype == tChat {
				inFlight--
				say("server> %s", p.fields().text("message"))
			}
		case <-grace:
			inFlight = 0
		case <-l.gone:
			inFlight = 0
		}
	}
	if fin := l.call(tLogout, fields{"id": sid}); fin != nil {
		limit := time.After(time.Second)
	wait:
		for {
			select {
			case <-fin:
				break wait
			case <-limit:
				break wait
			case <-l.gone:
				break wait
			case <-l.in: // a reply to LOGOUT, if any
			}
		}
	}
	l.hangUp()
	say("bye")
}
