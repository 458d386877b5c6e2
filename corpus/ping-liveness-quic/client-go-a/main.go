// ping-liveness client over QUIC (quic-go), written from PROTOCOLS.md §3 alone.
//
// Connects (TLS, ALPN "echo-protocol", the server's certificate is not checked
// unless -ca is given: test servers make a self-signed one at start), negotiates
// the version, asks Username:/Password:, then sends every typed line as a chat
// message and prints the echo. PING every -ping seconds; "!quit" (or end of
// input) logs out. Each message goes out as one JSON object written on a new
// bidirectional stream, whose send side is then finished; replies are read
// from that stream and from streams the server opens, with a JSON decoder.
package main

import (
	"bufio"
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
)

type message struct {
	Mtype   int             `json:"mtype"`
	Payload json.RawMessage `json:"payload"`
	Version string          `json:"version"`
	Sz      int             `json:"sz"`
}

type client struct {
	qc      quic.Connection
	version string
	in      chan message
}

func (c *client) read(s quic.ReceiveStream, done chan struct{}) {
	dec := json.NewDecoder(s)
	for {
		var m message
		if err := dec.Decode(&m); err != nil {
			if done != nil {
				close(done)
			}
			return
		}
		c.in <- m
	}
}

// send writes one message on a new stream and returns a channel closed when
// the server has finished (or reset) that stream.
func (c *client) send(mtype int, payload interface{}) chan struct{} {
	p, _ := json.Marshal(payload)
	b, _ := json.Marshal(message{Mtype: mtype, Payload: p, Version: c.version, Sz: len(p)})
	s, err := c.qc.OpenStreamSync(context.Background())
	if err != nil {
		fail(1, "connection closed by server")
	}
	if _, err := s.Write(b); err != nil {
		fail(1, "connection closed by server")
	}
	_ = s.Close()
	done := make(chan struct{})
	go c.read(s, done)
	return done
}

func fail(code int, text string) {
	fmt.Println(text)
	os.Exit(code)
}

func payloadOf(m message) map[string]interface{} {
	var p map[string]interface{}
	_ = json.Unmarshal(m.Payload, &p)
	return p
}

// next waits for the next message, or fails with text if the connection goes.
func (c *client) next(wait time.Duration, closedText string, code int) message {
	select {
	case m := <-c.in:
		return m
	case <-c.qc.Context().Done():
		fail(code, closedText)
	case <-time.After(wait):
		fail(code, closedText+" (no answer)")
	}
	return message{}
}

func errText(p map[string]interface{}) (int, string) {
	code, _ := p["error_code"].(float64)
	text, _ := p["message"].(string)
	return int(code), text
}

func main() {
	host := flag.String("s", "127.0.0.1", "server address")
	port := flag.Int("p", 55667, "server UDP port")
	versions := flag.String("versions", "1.0.0", "versions to offer, comma separated")
	ping := flag.Float64("ping", 10, "heartbeat interval in seconds")
	caFile := flag.String("ca", "", "PEM file of a CA to verify the server with (default: no verification)")
	serverName := flag.String("name", "localhost", "TLS server name")
	flag.Parse()

	tlsConf := &tls.Config{NextProtos: []string{"echo-protocol"}, ServerName: *serverName, InsecureSkipVerify: true}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fail(1, "ca: "+err.Error())
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tlsConf.RootCAs, tlsConf.InsecureSkipVerify = pool, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	qc, err := quic.DialAddrContext(ctx, net.JoinHostPort(*host, strconv.Itoa(*port)), tlsConf,
		&quic.Config{MaxIdleTimeout: 60 * time.Second, KeepAlivePeriod: 5 * time.Second})
	cancel()
	if err != nil {
		fail(1, "cannot connect: "+err.Error())
	}
	offered := strings.Split(*versions, ",")
	c := &client{qc: qc, version: offered[0], in: make(chan message, 64)}
	go func() {
		for {
			s, err := qc.AcceptStream(context.Background())
			if err != nil {
				return
			}
			go c.read(s, nil)
		}
	}()

	c.send(mVersionRequest, map[string]interface{}{"supported_versions": offered})
	for {
		m := c.next(5*time.Second, "version negotiation failed: connection closed", 2)
		p := payloadOf(m)
		if m.Mtype == mError {
			_, text := errText(p)
			fail(2, "version negotiation failed: "+text)
		}
		if m.Mtype == mVersionResponse {
			if ok, _ := p["success"].(bool); !ok {
				fail(2, "version negotiation failed")
			}
			c.version, _ = p["selected_version"].(string)
			fmt.Println("version " + c.version)
			break
		}
	}

	console := bufio.NewScanner(os.Stdin)
	lines := make(chan string)
	readLine := func(prompt string) (string, bool) {
		fmt.Print(prompt)
		if !console.Scan() {
			return "", false
		}
		return strings.TrimRight(console.Text(), "\r"), true
	}

	var id interface{}
	for id == nil {
		user, ok := readLine("Username: ")
		if !ok {
			_ = qc.CloseWithError(0, "bye")
			return
		}
		pass, ok := readLine("Password: ")
		if !ok {
			_ = qc.CloseWithError(0, "bye")
			return
		}
		c.send(mLoginRequest, map[string]interface{}{"username": user, "password": pass})
		m := c.next(5*time.Second, "connection closed by server", 1)
		p := payloadOf(m)
		switch {
		case m.Mtype == mLoginResponse && p["auth"] == float64(0):
			id = p["id"]
			fmt.Println("logged in as " + user)
		case m.Mtype == mLoginResponse:
			fmt.Println("wrong user name or password")
		case m.Mtype == mError:
			code, text := errText(p)
			if code == 3 {
				fmt.Println(user + " is already logged in elsewhere")
			} else {
				fmt.Printf("login error %d: %s\n", code, text)
			}
		}
	}

	go func() {
		for console.Scan() {
			lines <- strings.TrimRight(console.Text(), "\r")
		}
		close(lines)
	}()
	ticker := time.NewTicker(time.Duration(*ping * float64(time.Second)))
	defer ticker.Stop()
	pending := 0 // chat messages sent whose echo (or error) has not come yet
	show := func(m message) {
		p := payloadOf(m)
		switch m.Mtype {
		case mChat:
			pending--
			text, _ := p["message"].(string)
			fmt.Println("echo: " + text)
		case mError:
			pending--
			code, text := errText(p)
			if code == 2 {
				fail(1, "session timed out")
			}
			fmt.Printf("server error %d: %s\n", code, text)
		}
	}
	fmt.Print("> ")
	for {
		select {
		case line, ok := <-lines:
			if !ok || line == "!quit" {
				// Let the echoes of what was typed before arrive first (1 s at most).
				deadline := time.After(time.Second)
			drain:
				for pending > 0 {
					select {
					case m := <-c.in:
						show(m)
					case <-deadline:
						break drain
					}
				}
				done := c.send(mLogout, map[string]interface{}{"id": id})
				select {
				case <-done:
				case <-time.After(time.Second):
				}
				_ = qc.CloseWithError(0, "bye")
				fmt.Println("logged out")
				return
			}
			if strings.TrimSpace(line) != "" {
				pending++
				c.send(mChat, map[string]interface{}{"id": id, "time": time.Now().UTC().Format(time.RFC3339), "message": line})
			}
			fmt.Print("> ")
		case m := <-c.in:
			show(m)
		case <-ticker.C:
			c.send(mPing, map[string]interface{}{"id": id})
		case <-qc.Context().Done():
			fail(1, "connection closed by server")
		}
	}
}
