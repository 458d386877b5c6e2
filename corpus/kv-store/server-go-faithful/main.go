// The course's IM server, as the course describes it: a key-value store reached
// with HTTP GET, ?action=get|set|unset|clear|keys. Every answer is 200 text/html
// and ends with one extra newline.
//
// usage: server PORT
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
)

type store struct {
	mu   sync.Mutex
	data map[string]string
}

func (s *store) handle(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	action := q.Get("action")
	key := q.Get("key")

	var body string
	s.mu.Lock()
	switch action {
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
			b.WriteString(k)
			b.WriteString("\n")
		}
		b.WriteString("\n")
		body = b.String()
	default:
		body = "\n"
	}
	s.mu.Unlock()

	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, body)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: server PORT")
		os.Exit(2)
	}
	s := &store{data: map[string]string{}}
	http.HandleFunc("/", s.handle)
	log.Fatal(http.ListenAndServe("127.0.0.1:"+os.Args[1], nil))
}
