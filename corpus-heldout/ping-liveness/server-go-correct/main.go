// ping-liveness chat server: version negotiation, login, echo chat, heartbeat.
// Wire: TCP, one JSON object per line: {"mtype":N,"payload":{...},"version":"1.0.0","sz":N}
package main

import (
	"bufio"
	"bytes"
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

const (
	LoginRequest    = 1
	LoginResponse   = 2
	ChatMessage     = 3
	Logout          = 4
	Error           = 5
	Ping            = 6
	VersionRequest  = 7
	VersionResponse = 8
)

type message struct {
	Mtype   int                    `json:"mtype"`
	Payload map[string]interface{} `json:"payload"`
	Version string                 `json:"version"`
	Sz      int                    `json:"sz"`
}

type conn struct {
	c       net.Conn
	wmu     sync.Mutex
	session int // 0: not logged in
}

func (k *conn) send(mtype int, payload map[string]interface{}) {
	p, _ := json.Marshal(payload)
	line, _ := json.Marshal(message{Mtype: mtype, Payload: payload, Version: "1.0.0", Sz: len(p)})
	k.wmu.Lock()
	k.c.Write(append(line, '\n'))
	k.wmu.Unlock()
}

func (k *conn) sendError(id interface{}, code int, text string) {
	k.send(Error, map[string]interface{}{"id": id, "error_code": code, "message": text})
}

type session struct {
	user     string
	owner    *conn
	lastSeen time.Time
}

var (
	mu        sync.Mutex
	sessions  = map[int]*session{}
	byUser    = map[string]int{}
	nextID    = 1
	timeout   time.Duration
	supported []string
	accounts  = map[string]string{"alice": "wonderland", "bob": "builder"}
)

func init() {
	for i := 1; i <= 9; i++ {
		accounts[fmt.Sprintf("user%d", i)] = fmt.Sprintf("pass%d", i)
	}
}

// dropLocked removes a session; mu must be held.
func dropLocked(id int) {
	if s, ok := sessions[id]; ok {
		delete(byUser, s.user)
		delete(sessions, id)
		if s.owner.session == id {
			s.owner.session = 0
		}
	}
}

// own reports whether the id named in a payload is this connection's live session.
func own(k *conn, p map[string]interface{}) bool {
	return k.session != 0 && fmt.Sprint(p["id"]) == fmt.Sprint(k.session) && sessions[k.session] != nil
}

func handle(k *conn, m message) {
	mu.Lock()
	defer mu.Unlock()
	p := m.Payload
	if p == nil {
		p = map[string]interface{}{}
	}
	switch m.Mtype {
	case VersionRequest:
		offered, _ := p["supported_versions"].([]interface{})
		for _, want := range supported {
			for _, v := range offered {
				if fmt.Sprint(v) == want {
					k.send(VersionResponse, map[string]interface{}{"selected_version": want, "success": true})
					return
				}
			}
		}
		k.send(VersionResponse, map[string]interface{}{"selected_version": nil, "success": false})
		k.sendError(nil, 5, "unsupported version; server supports "+strings.Join(supported, ", "))
	case LoginRequest:
		user, _ := p["username"].(string)
		pass, _ := p["password"].(string)
		if want, ok := accounts[user]; !ok || want != pass {
			k.send(LoginResponse, map[string]interface{}{"auth": 1, "id": nil})
			return
		}
		if _, busy := byUser[user]; busy || k.session != 0 {
			k.sendError(nil, 3, "already logged in from another location")
			return
		}
		id := nextID
		nextID++
		sessions[id] = &session{user: user, owner: k, lastSeen: time.Now()}
		byUser[user] = id
		k.session = id
		k.send(LoginResponse, map[string]interface{}{"auth": 0, "id": id})
	case ChatMessage, Ping, Logout:
		if !own(k, p) {
			k.sendError(p["id"], 1, "session not found")
			return
		}
		sessions[k.session].lastSeen = time.Now()
		switch m.Mtype {
		case ChatMessage:
			k.send(ChatMessage, map[string]interface{}{"id": k.session, "time": p["time"], "message": p["message"]})
		case Logout:
			dropLocked(k.session)
		}
	default:
		k.sendError(p["id"], 4, fmt.Sprintf("unknown message type %d", m.Mtype))
	}
}

func serve(c net.Conn) {
	k := &conn{c: c}
	r := bufio.NewReaderSize(c, 64*1024)
	for {
		line, err := r.ReadBytes('\n')
		line = bytes.TrimSpace(line)
		if len(line) > 0 {
			var m message
			d := json.NewDecoder(bytes.NewReader(line))
			d.UseNumber()
			if d.Decode(&m) != nil {
				k.sendError(nil, 4, "malformed message")
			} else {
				handle(k, m)
			}
		}
		if err != nil {
			break
		}
	}
	mu.Lock()
	if k.session != 0 {
		dropLocked(k.session) // connection closed: the session ends with it
	}
	mu.Unlock()
	c.Close()
}

func reaper() {
	step := timeout / 4
	if step > 100*time.Millisecond {
		step = 100 * time.Millisecond
	}
	for range time.Tick(step) {
		mu.Lock()
		for id, s := range sessions {
			if time.Since(s.lastSeen) > timeout {
				owner := s.owner
				dropLocked(id)
				owner.sendError(id, 2, "session timed out")
				owner.c.Close()
			}
		}
		mu.Unlock()
	}
}

func main() {
	port := flag.Int("port", 55667, "TCP port to listen on (127.0.0.1)")
	ms := flag.Int("timeout-ms", 30000, "heartbeat timeout in milliseconds")
	vers := flag.String("versions", "1.0.0", "supported versions, most preferred first, comma-separated")
	flag.Parse()
	timeout = time.Duration(*ms) * time.Millisecond
	supported = strings.Split(*vers, ",")

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	go reaper()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	fmt.Printf("ping server listening on 127.0.0.1:%d (timeout %d ms)\n", *port, *ms)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	ln.Close()
	fmt.Println("server stopped")
}
