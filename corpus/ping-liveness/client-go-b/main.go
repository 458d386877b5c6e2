// Command client is a terse ping-liveness chat client. It prints no prompts:
// the first input line is the user name, the second the password, every
// further line is a chat message. ":quit" (or end of input) logs out.
//
// The server is taken from the environment: PL_HOST (default 127.0.0.1) and
// PL_PORT (required). Every output line ends with CRLF.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

const (
	tLoginReq  = 1
	tLoginResp = 2
	tChat      = 3
	tLogout    = 4
	tError     = 5
	tPing      = 6
	tVerReq    = 7
	tVerResp   = 8
)

const quitCmd = ":quit"

// offered versions, most preferred first
var offered = []string{"1.1.0", "1.0.0"}

type message struct {
	Mtype   int                    `json:"mtype"`
	Payload map[string]interface{} `json:"payload"`
	Version string                 `json:"version"`
	Sz      int                    `json:"sz"`
}

var outMu sync.Mutex

func out(format string, a ...interface{}) {
	outMu.Lock()
	fmt.Fprintf(os.Stdout, format+"\r\n", a...)
	outMu.Unlock()
}

type link struct {
	nc      net.Conn
	rd      *bufio.Reader
	wmu     sync.Mutex
	version string
}

func (l *link) send(mtype int, payload map[string]interface{}) error {
	body, _ := json.Marshal(payload)
	b, _ := json.Marshal(message{Mtype: mtype, Payload: payload, Version: l.version, Sz: len(body)})
	l.wmu.Lock()
	defer l.wmu.Unlock()
	_, err := l.nc.Write(append(b, '\n'))
	return err
}

func (l *link) recv() (*message, error) {
	for {
		line, err := l.rd.ReadString('\n')
		line = strings.TrimSpace(line)
		if line != "" {
			var m message
			if json.Unmarshal([]byte(line), &m) == nil {
				return &m, nil
			}
		}
		if err != nil {
			return nil, err
		}
	}
}

func die(code int, format string, a ...interface{}) {
	out(format, a...)
	os.Exit(code)
}

func text(p map[string]interface{}, key string) string {
	if v, ok := p[key]; ok && v != nil {
		if s, ok := v.(string); ok {
			return s
		}
		return fmt.Sprint(v)
	}
	return ""
}

func main() {
	pingEvery := flag.Duration("ping", 10*time.Second, "interval between PING messages")
	flag.Parse()

	host := os.Getenv("PL_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	port := os.Getenv("PL_PORT")
	if port == "" {
		fmt.Fprintln(os.Stderr, "set PL_PORT (and PL_HOST)")
		os.Exit(2)
	}

	stdin := bufio.NewScanner(os.Stdin)
	stdin.Buffer(make([]byte, 64*1024), 1<<20)
	if !stdin.Scan() {
		os.Exit(0)
	}
	user := strings.TrimSpace(stdin.Text())
	if !stdin.Scan() {
		os.Exit(0)
	}
	pass := strings.TrimRight(stdin.Text(), "\r")

	nc, err := net.Dial("tcp", net.JoinHostPort(host, port))
	if err != nil {
		die(1, "ERR cannot connect: %v", err)
	}
	l := &link{nc: nc, rd: bufio.NewReader(nc), version: "1.0.0"}

	// version negotiation
	vs := make([]interface{}, len(offered))
	for i, v := range offered {
		vs[i] = v
	}
	l.send(tVerReq, map[string]interface{}{"supported_versions": vs})
	for {
		m, err := l.recv()
		if err != nil {
			die(2, "ERR version: server closed the connection")
		}
		if m.Mtype == tError {
			die(2, "ERR version: %s", text(m.Payload, "message"))
		}
		if m.Mtype == tVerResp {
			sel := text(m.Payload, "selected_version")
			ok, _ := m.Payload["success"].(bool)
			known := false
			for _, v := range offered {
				known = known || v == sel
			}
			if !ok || !known {
				die(2, "ERR version: no common version")
			}
			l.version = sel
			break
		}
	}

	// login
	l.send(tLoginReq, map[string]interface{}{"username": user, "password": pass})
	var sid interface{}
	for sid == nil {
		m, err := l.recv()
		if err != nil {
			die(1, "ERR server closed the connection")
		}
		switch m.Mtype {
		case tLoginResp:
			if a, ok := m.Payload["auth"].(float64); ok && a == 0 {
				sid = m.Payload["id"]
				if sid == nil {
					sid = ""
				}
			} else {
				die(3, "ERR bad credentials")
			}
		case tError:
			code, _ := m.Payload["error_code"].(float64)
			if code == 3 {
				die(3, "ERR %s already logged in elsewhere", user)
			}
			die(3, "ERR login: %s", text(m.Payload, "message"))
		}
	}
	out("OK logged in as %s", user)

	var leaving bool
	var leaveMu sync.Mutex
	closed := make(chan struct{})

	// reader
	go func() {
		defer close(closed)
		for {
			m, err := l.recv()
			if err != nil {
				leaveMu.Lock()
				l2 := leaving
				leaveMu.Unlock()
				if l2 {
					return
				}
				die(1, "ERR server closed the connection")
			}
			switch m.Mtype {
			case tChat:
				out("<< %s", text(m.Payload, "message"))
			case tLogout:
				return
			case tError:
				code, _ := m.Payload["error_code"].(float64)
				if code == 2 {
					die(1, "ERR session expired")
				}
				out("ERR %d %s", int(code), text(m.Payload, "message"))
			}
		}
	}()

	// heartbeat
	stopPing := make(chan struct{})
	go func() {
		t := time.NewTicker(*pingEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if l.send(tPing, map[string]interface{}{"id": sid}) != nil {
					return
				}
			case <-stopPing:
				return
			}
		}
	}()

	for stdin.Scan() {
		line := strings.TrimRight(stdin.Text(), "\r")
		if strings.TrimSpace(line) == quitCmd {
			break
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		stamp := time.Now().Format(time.RFC3339)
		if err := l.send(tChat, map[string]interface{}{"id": sid, "time": stamp, "message": line}); err != nil {
			die(1, "ERR server closed the connection")
		}
	}

	close(stopPing)
	leaveMu.Lock()
	leaving = true
	leaveMu.Unlock()
	l.send(tLogout, map[string]interface{}{"id": sid})
	select {
	case <-closed:
	case <-time.After(time.Second):
	}
	nc.Close()
	out("BYE")
}
