// Key-value "IM server" compatible with the course's IMserver.php
// (a Go port of server-py-b: same startup line, same console "quit").
//
//	GET <any path>?action=get&key=K          -> value + "\n" ("\n" when K is not set)
//	GET <any path>?action=set&key=K&value=V  -> "\n"
//	GET <any path>?action=unset&key=K        -> "\n"
//	GET <any path>?action=clear              -> "\n"
//	GET <any path>?action=keys               -> the keys, one per line
//
// It listens on 127.0.0.1 on a port the OS picks (or -port N) and prints
//
//	IM server listening on http://127.0.0.1:PORT/IMserver.php
//
// Typing "quit" on its console stops it; SIGTERM too.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
)

type store struct {
	mu    sync.Mutex
	data  map[string]string
	order []string // insertion order, like a Python dict
}

func (s *store) get(k string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[k]
	return v, ok
}

func (s *store) set(k, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.data[k]; !ok {
		s.order = append(s.order, k)
	}
	s.data[k] = v
}

func (s *store) unset(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.data[k]; !ok {
		return
	}
	delete(s.data, k)
	for i, name := range s.order {
		if name == k {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}

func (s *store) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = map[string]string{}
	s.order = nil
}

func (s *store) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

var kv = &store{data: map[string]string{}}

func handler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	action := q.Get("action")
	key := q.Get("key")

	body := "\n"
	switch action {
	case "get":
		v, _ := kv.get(key)
		body = v + "\n"
	case "set":
		kv.set(key, q.Get("value"))
	case "unset":
		kv.unset(key)
	case "clear":
		kv.clear()
	case "keys":
		body = strings.Join(kv.keys(), "\n") + "\n"
	}

	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(body))
}

func main() {
	port := flag.Int("port", 0, "port (default: any free one)")
	flag.Parse()

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: http.HandlerFunc(handler)}

	stop := make(chan struct{}, 2)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sigs; stop <- struct{}{} }()
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if strings.ToLower(strings.TrimSpace(sc.Text())) == "quit" {
				fmt.Println("IM server shutting down")
				stop <- struct{}{}
				return
			}
		}
		// EOF on the console: keep serving
	}()
	go func() {
		<-stop
		srv.Shutdown(context.Background())
	}()

	fmt.Printf("IM server listening on http://%s/IMserver.php\n", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
