// A small key-value store that speaks the course's "IM server" interface:
// HTTP GET with ?action=get|set|unset|clear|keys, answers 200 text/html,
// every body ends with one extra newline.
package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
)

type store struct {
	mu   sync.Mutex
	data map[string]string
}

func (s *store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key := q.Get("key")
	var body string

	s.mu.Lock()
	switch q.Get("action") {
	case "get":
		body = s.data[key] + "\n"
	case "set":
		s.data[key] = q.Get("value")
		body = "\n"
	case "unset":
		delete(s.data, key)
		body = "\n"
	case "clear":
		s.data = map[string]string{}
		body = "\n"
	case "keys":
		names := make([]string, 0, len(s.data))
		for k := range s.data {
			names = append(names, k)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, k := range names {
			b.WriteString(k + "\n")
		}
		b.WriteString("\n")
		body = b.String()
	default:
		body = "\n"
	}
	s.mu.Unlock()

	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, body)
}

func main() {
	port := os.Getenv("KV_PORT")
	if port == "" {
		port = "8000"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot listen:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: &store{data: map[string]string{}}}
	fmt.Printf("kv store listening on 127.0.0.1:%s\n", port)

	done := make(chan string, 2)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; done <- "signal" }()
	go func() {
		// console: "quit" stops the server; end of input is ignored
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			if strings.TrimSpace(in.Text()) == "quit" {
				done <- "quit"
				return
			}
		}
	}()
	go srv.Serve(ln)
	<-done
	srv.Close()
	fmt.Println("kv store stopped")
}
