// ping-liveness chat client: negotiates the version, logs in, sends chat lines, prints the
// echoes and pings the server at a fixed interval so that its session stays alive.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type message struct {
	Mtype   int                    `json:"mtype"`
	Payload map[string]interface{} `json:"payload"`
	Version string                 `json:"version"`
	Sz      int                    `json:"sz"`
}

type link struct {
	c net.Conn
	r *bufio.Reader
}

func (l *link) send(mtype int, payload map[string]interface{}) error {
	p, _ := json.Marshal(payload)
	b, _ := json.Marshal(message{mtype, payload, "1.0.0", len(p)})
	_, err := l.c.Write(append(b, '\n'))
	return err
}

func (l *link) recv() (message, error) {
	var m message
	line, err := l.r.ReadBytes('\n')
	if err != nil {
		return m, err
	}
	d := json.NewDecoder(strings.NewReader(string(line)))
	d.UseNumber()
	err = d.Decode(&m)
	return m, err
}

func str(v interface{}) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func main() {
	host := flag.String("host", "127.0.0.1", "server host")
	port := flag.Int("port", 55667, "server port")
	pingMs := flag.Int("ping-ms", 10000, "ping interval in milliseconds")
	versions := flag.String("versions", "1.0.0", "protocol versions to offer, comma-separated")
	flag.Parse()

	c, err := net.Dial("tcp", net.JoinHostPort(*host, fmt.Sprint(*port)))
	if err != nil {
		fmt.Println("Cannot connect:", err)
		os.Exit(1)
	}
	l := &link{c: c, r: bufio.NewReader(c)}
	stdin := bufio.NewReader(os.Stdin)

	// version negotiation
	l.send(7, map[string]interface{}{"supported_versions": strings.Split(*versions, ",")})
	m, err := l.recv()
	if err != nil {
		fmt.Println("Server gone.")
		os.Exit(1)
	}
	if m.Mtype != 8 || m.Payload["success"] != true {
		reason := str(m.Payload["message"])
		if reason == "" {
			reason = "no common version"
		}
		fmt.Println("Version negotiation failed:", reason)
		os.Exit(1)
	}
	fmt.Printf("Connected (protocol %s).\n", str(m.Payload["selected_version"]))

	// login
	readLine := func(prompt string) (string, bool) {
		fmt.Print(prompt)
		s, err := stdin.ReadString('\n')
		if err != nil && s == "" {
			return "", false
		}
		return strings.TrimRight(s, "\r\n"), true
	}
	user, ok1 := readLine("Username: ")
	pass, ok2 := readLine("Password: ")
	if !ok1 || !ok2 {
		fmt.Println("Bye.")
		os.Exit(0)
	}
	l.send(1, map[string]interface{}{"username": user, "password": pass})
	m, err = l.recv()
	switch {
	case err != nil:
		fmt.Println("Server gone.")
		os.Exit(1)
	case m.Mtype == 2 && str(m.Payload["auth"]) == "0":
		// logged in
	case m.Mtype == 5 && str(m.Payload["error_code"]) == "3":
		fmt.Println("Login refused: user is already logged in elsewhere.")
		os.Exit(1)
	default:
		fmt.Println("Login refused: wrong user name or password.")
		os.Exit(1)
	}
	id := m.Payload["id"]
	fmt.Printf("Logged in as %s.\n", user)

	lines := make(chan string)
	go func() {
		for {
			s, err := stdin.ReadString('\n')
			if s != "" {
				lines <- strings.TrimRight(s, "\r\n")
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	incoming := make(chan message)
	go func() {
		for {
			m, err := l.recv()
			if err != nil {
				close(incoming)
				return
			}
			incoming <- m
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	ping := time.NewTicker(time.Duration(*pingMs) * time.Millisecond)

	logout := func() {
		l.send(4, map[string]interface{}{"id": id})
		c.Close()
		fmt.Println("Logged out.")
		os.Exit(0)
	}
	for {
		select {
		case <-ping.C:
			l.send(6, map[string]interface{}{"id": id})
		case s, ok := <-lines:
			if !ok || strings.TrimSpace(s) == "!quit" {
				logout()
			}
			now := float64(time.Now().UnixNano()) / 1e9
			l.send(3, map[string]interface{}{"id": id, "time": now, "message": s})
		case m, ok := <-incoming:
			if !ok {
				fmt.Println("Server gone.")
				os.Exit(1)
			}
			switch m.Mtype {
			case 3:
				fmt.Println("echo: " + str(m.Payload["message"]))
			case 5:
				if str(m.Payload["error_code"]) == "2" {
					fmt.Println("Session timed out.")
					os.Exit(1)
				}
				fmt.Printf("Error %s: %s\n", str(m.Payload["error_code"]), str(m.Payload["message"]))
			}
		case <-sig:
			logout()
		}
	}
}
