// ping-liveness client over QUIC, following the seed's client (CS544 echo chat):
// version negotiation first, then login, then an echo chat with a PING every 10 s.
// Every message is one JSON object {mtype, payload, version, sz} written on a new
// bidirectional stream whose send side is then finished.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	quic "github.com/lucas-clemente/quic-go"
)

const (
	mLoginRequest    = 1
	mLoginResponse   = 2
	mChatMessage     = 3
	mLogout          = 4
	mError           = 5
	mPing            = 6
	mVersionRequest  = 7
	mVersionResponse = 8
)

type message struct {
	Mtype   int                    `json:"mtype"`
	Payload map[string]interface{} `json:"payload"`
	Version string                 `json:"version"`
	Sz      int                    `json:"sz"`
}

// console output: printed lines always start at the beginning of a line (a
// prompt left without its newline gets one first), and the chat prompt is
// written again after a line printed while it was waiting for input.
type console struct {
	mu      sync.Mutex
	pending string // prompt currently waiting for input
	midLine bool   // the last thing written was a prompt without newline
}

func (c *console) line(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.midLine {
		os.Stdout.WriteString("\n")
	}
	os.Stdout.WriteString(s + "\n")
	c.midLine = false
	if c.pending != "" {
		os.Stdout.WriteString(c.pending)
		c.midLine = true
	}
}

func (c *console) prompt(p string, keep bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	os.Stdout.WriteString(p)
	c.midLine = true
	if keep {
		c.pending = p
	} else {
		c.pending = ""
	}
}

// end finishes a line left open by a prompt.
func (c *console) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.midLine {
		os.Stdout.WriteString("\n")
		c.midLine = false
	}
	c.pending = ""
}

// inputDone: the prompt got its line; it is not written again.
func (c *console) inputDone() {
	c.mu.Lock()
	c.pending = ""
	c.mu.Unlock()
}

type client struct {
	conn    quic.Connection
	version string
	inbox   chan message
	closed  chan struct{}
	sendMu  sync.Mutex
	streams sync.WaitGroup
	out     *console
	logout  chan struct{} // closed when the LOGOUT stream has been finished by the server
}

func (c *client) send(mtype int, payload map[string]interface{}) (quic.Stream, error) {
	body, _ := json.Marshal(payload)
	msg := message{Mtype: mtype, Payload: payload, Version: c.version, Sz: len(body)}
	data, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := st.Write(data); err != nil {
		return nil, err
	}
	st.Close() // FIN: the message is complete
	return st, nil
}

// read decodes every JSON object arriving on a stream (several in one write,
// or one split across writes) until the stream ends.
func (c *client) read(r io.Reader, done chan struct{}) {
	defer func() {
		if done != nil {
			close(done)
		}
	}()
	dec := json.NewDecoder(r)
	dec.UseNumber()
	for {
		var m message
		if err := dec.Decode(&m); err != nil {
			return
		}
		select {
		case c.inbox <- m:
		case <-c.closed:
			return
		}
	}
}

func (c *client) accept() {
	go func() {
		for {
			st, err := c.conn.AcceptUniStream(context.Background())
			if err != nil {
				return
			}
			go c.read(st, nil)
		}
	}()
	for {
		st, err := c.conn.AcceptStream(context.Background())
		if err != nil {
			close(c.closed)
			return
		}
		st.Close()
		go c.read(st, nil)
	}
}

func (c *client) request(mtype int, payload map[string]interface{}) chan struct{} {
	st, err := c.send(mtype, payload)
	if err != nil {
		return nil
	}
	done := make(chan struct{})
	go c.read(st, done)
	return done
}

func str(v interface{}) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return t.String()
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

func num(v interface{}) int {
	switch t := v.(type) {
	case json.Number:
		n, err := t.Int64()
		if err != nil {
			f, _ := t.Float64()
			return int(f)
		}
		return int(n)
	case string:
		n, _ := strconv.Atoi(t)
		return n
	case bool:
		if t {
			return 1
		}
	}
	return -1
}

func truthy(v interface{}) bool {
	switch t := v.(type) {
	case bool:
		return t
	case json.Number:
		return t.String() != "0"
	case string:
		return t != "" && t != "false"
	}
	return false
}

func main() {
	host := flag.String("s", "127.0.0.1", "server address")
	port := flag.Int("p", 55667, "server port")
	pingSecs := flag.Float64("ping", 10, "seconds between PING messages")
	versions := flag.String("versions", "1.0.0", "versions offered, comma separated")
	caFile := flag.String("ca", "", "CA certificate (PEM) to verify the server with")
	name := flag.String("name", "localhost", "TLS server name")
	flag.Parse()

	tlsConf := &tls.Config{ServerName: *name, NextProtos: []string{"echo-protocol"}, InsecureSkipVerify: true}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cannot read CA:", err)
			os.Exit(2)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintln(os.Stderr, "no certificate in", *caFile)
			os.Exit(2)
		}
		tlsConf.RootCAs = pool
		tlsConf.InsecureSkipVerify = false
	}
	qconf := &quic.Config{KeepAlivePeriod: 5 * time.Second, MaxIdleTimeout: 60 * time.Second}
	addr := net.JoinHostPort(*host, strconv.Itoa(*port))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	conn, err := quic.DialAddrContext(ctx, addr, tlsConf, qconf)
	cancel()
	if err != nil {
		fmt.Println("cannot connect to " + addr + ": " + err.Error())
		os.Exit(2)
	}

	var offered []interface{}
	for _, v := range strings.Split(*versions, ",") {
		if v = strings.TrimSpace(v); v != "" {
			offered = append(offered, v)
		}
	}
	if len(offered) == 0 {
		offered = []interface{}{"1.0.0"}
	}
	out := &console{}
	c := &client{conn: conn, version: str(offered[0]), inbox: make(chan message, 64), closed: make(chan struct{}), out: out}
	go c.accept()

	// console input
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			lines <- strings.TrimRight(sc.Text(), "\r")
		}
		close(lines)
	}()

	closeConn := func() { conn.CloseWithError(0, "") }

	// 1. version negotiation
	c.request(mVersionRequest, map[string]interface{}{"supported_versions": offered})
	for negotiated := false; !negotiated; {
		select {
		case m := <-c.inbox:
			switch m.Mtype {
			case mVersionResponse:
				if truthy(m.Payload["success"]) && str(m.Payload["selected_version"]) != "" {
					c.version = str(m.Payload["selected_version"])
					out.line("version " + c.version)
					negotiated = true
				} else {
					out.line("version negotiation failed")
					closeConn()
					os.Exit(2)
				}
			case mError:
				msg := str(m.Payload["message"])
				if msg == "" {
					out.line("version negotiation failed")
				} else {
					out.line("version negotiation failed: " + msg)
				}
				closeConn()
				os.Exit(2)
			}
		case <-c.closed:
			out.line("version negotiation failed: connection closed")
			os.Exit(2)
		}
	}

	// 2. login
	var user string
	var session interface{}
	for session == nil {
		out.prompt("Username: ", false)
		u, ok := <-lines
		if !ok {
			out.end()
			closeConn()
			os.Exit(0)
		}
		out.prompt("Password: ", false)
		pw, ok := <-lines
		if !ok {
			out.end()
			closeConn()
			os.Exit(0)
		}
		user = strings.TrimSpace(u)
		c.request(mLoginRequest, map[string]interface{}{"username": user, "password": pw})
	wait:
		for {
			select {
			case m := <-c.inbox:
				switch m.Mtype {
				case mLoginResponse:
					if num(m.Payload["auth"]) == 0 {
						session = m.Payload["id"]
						if session == nil {
							session = ""
						}
						out.line("logged in as " + user)
					} else {
						out.line("wrong user name or password")
					}
					break wait
				case mError:
					code := num(m.Payload["error_code"])
					if code == 3 {
						out.line(user + " is already logged in elsewhere")
					} else {
						out.line(fmt.Sprintf("login error %s: %s", str(m.Payload["error_code"]), str(m.Payload["message"])))
					}
					break wait
				}
			case <-c.closed:
				out.line("connection closed by server")
				os.Exit(1)
			}
		}
	}

	// 3. chat, with the heartbeat
	var mu sync.Mutex
	unanswered := 0
	echoed := make(chan struct{}, 1)
	stopPing := make(chan struct{})
	go func() {
		interval := time.Duration(*pingSecs * float64(time.Second))
		if interval <= 0 {
			return
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				c.request(mPing, map[string]interface{}{"id": session})
			case <-stopPing:
				return
			case <-c.closed:
				return
			}
		}
	}()
	exitCode := -1
	var exitMu sync.Mutex
	fatal := make(chan int, 1)
	go func() {
		for {
			select {
			case m := <-c.inbox:
				switch m.Mtype {
				case mChatMessage:
					out.line("echo: " + str(m.Payload["message"]))
					mu.Lock()
					if unanswered > 0 {
						unanswered--
					}
					mu.Unlock()
					select {
					case echoed <- struct{}{}:
					default:
					}
				case mError:
					if num(m.Payload["error_code"]) == 2 {
						out.inputDone()
						out.line("session timed out")
						fatal <- 1
						return
					}
					out.line(fmt.Sprintf("server error %s: %s", str(m.Payload["error_code"]), str(m.Payload["message"])))
				}
			case <-c.closed:
				exitMu.Lock()
				quitting := exitCode == 0
				exitMu.Unlock()
				if !quitting {
					out.inputDone()
					out.line("connection closed by server")
					fatal <- 1
				}
				return
			}
		}
	}()

	for {
		out.prompt("> ", true)
		var line string
		var ok bool
		select {
		case line, ok = <-lines:
		case code := <-fatal:
			out.inputDone()
			closeConn()
			os.Exit(code)
		}
		out.inputDone()
		if !ok || strings.TrimSpace(line) == "!quit" {
			break
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		mu.Lock()
		unanswered++
		mu.Unlock()
		c.request(mChatMessage, map[string]interface{}{
			"id":      session,
			"time":    time.Now().UTC().Format(time.RFC3339),
			"message": line,
		})
	}

	// 4. quit: wait for outstanding echoes, log out, close
	exitMu.Lock()
	exitCode = 0
	exitMu.Unlock()
	close(stopPing)
	deadline := time.After(time.Second)
waitEchoes:
	for {
		mu.Lock()
		n := unanswered
		mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-echoed:
		case <-deadline:
			break waitEchoes
		case <-c.closed:
			break waitEchoes
		case code := <-fatal:
			closeConn()
			os.Exit(code)
		}
	}
	if done := c.request(mLogout, map[string]interface{}{"id": session}); done != nil {
		select {
		case <-done:
		case <-time.After(time.Second):
		case <-c.closed:
		}
	}
	closeConn()
	out.line("logged out")
	os.Exit(0)
}
