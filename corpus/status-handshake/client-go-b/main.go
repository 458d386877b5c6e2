// Command imchat is a two-person chat over the course's IM key-value server.
//
//	./imchat -server http://127.0.0.1:8080/IMserver.php
//
// It uses the keys status (off/one/two), received (0/1) and message, plus a
// few helper keys (claim, sender, beat_one, beat_two) that protect against
// races and dead clients. Output lines end with CRLF.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	pollEvery  = 250 * time.Millisecond
	beatEvery  = time.Second
	leaseAfter = 5 * time.Second
	quitWord   = "/bye"
)

type kv struct {
	base string
}

// escape percent-encodes like the PHP client does (%20 for a space, '/' kept).
func escape(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	return strings.ReplaceAll(e, "%2F", "/")
}

func (s *kv) do(query string) (string, error) {
	sep := "?"
	if strings.Contains(s.base, "?") {
		sep = "&"
	}
	resp, err := http.Get(s.base + sep + query)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (s *kv) Get(key string) string {
	body, err := s.do("action=get&key=" + escape(key))
	if err != nil {
		fatal(err)
	}
	return strings.TrimSuffix(body, "\n")
}

func (s *kv) Set(key, value string) {
	if _, err := s.do("action=set&key=" + escape(key) + "&value=" + escape(value)); err != nil {
		fatal(err)
	}
}

func (s *kv) Unset(key string) {
	if _, err := s.do("action=unset&key=" + escape(key)); err != nil {
		fatal(err)
	}
}

func println(format string, args ...interface{}) {
	fmt.Printf(format+"\r\n", args...)
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "server error: %v\r\n", err)
	os.Exit(1)
}

func now() string {
	return strconv.FormatFloat(float64(time.Now().UnixNano())/1e9, 'f', 3, 64)
}

// beatAge tells how old a heartbeat key is; ok is false when the key is missing.
func beatAge(s *kv, key string) (age float64, ok bool) {
	v := s.Get(key)
	if v == "" {
		return 0, false
	}
	t, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 1e9, true
	}
	return float64(time.Now().UnixNano())/1e9 - t, true
}

func stale(s *kv, key string) bool {
	age, ok := beatAge(s, key)
	return ok && age > leaseAfter.Seconds()
}

// late: the client missed a couple of beats, but its lease has not run out yet.
func late(s *kv, key string) bool {
	age, ok := beatAge(s, key)
	return ok && age > 2*beatEvery.Seconds() && age <= leaseAfter.Seconds()
}

// join returns 1 or 2, or 0 when the server is busy.
func join(s *kv, id string) int {
	lost := 0
	// backoff waits a few times as long as the last attempt took, so a
	// competing claimer has time to finish.
	backoff := func(started time.Time) {
		lost++
		if lost > 4 {
			lost = 4
		}
		f := (1 + rand.Float64()) * float64(lost)
		time.Sleep(time.Duration(float64(time.Since(started)) * f))
	}
	for try := 0; try < 100; try++ {
		started := time.Now()
		st := s.Get("status")
		switch {
		case st == "two":
			if stale(s, "beat_one") || stale(s, "beat_two") {
				println("[old conversation left open by a dead client, resetting]")
				s.Unset("beat_one")
				s.Unset("beat_two")
				s.Set("status", "off")
				continue
			}
			if late(s, "beat_one") || late(s, "beat_two") {
				time.Sleep(500 * time.Millisecond)
				continue
			}
			return 0
		case st == "one" && late(s, "beat_one"):
			time.Sleep(500 * time.Millisecond)
			continue
		case st == "one" && stale(s, "beat_one"):
			println("[user 1 is gone, resetting]")
			s.Unset("beat_one")
			s.Set("status", "off")
			continue
		}
		s.Set("claim", id)
		time.Sleep(time.Duration(300+rand.Intn(300)) * time.Millisecond)
		if s.Get("claim") != id || s.Get("status") != st {
			backoff(started)
			continue
		}
		// get ready, then look one last time before taking the slot
		if st == "one" {
			s.Set("beat_two", now())
		} else {
			s.Unset("beat_two")
		}
		s.Set("received", "0")
		if s.Get("claim") != id || s.Get("status") != st {
			if st == "one" {
				s.Unset("beat_two")
			}
			backoff(started)
			continue
		}
		if st == "one" {
			s.Set("status", "two")
			return 2
		}
		s.Set("status", "one")
		s.Set("beat_one", now())
		return 1
	}
	return 0
}

func main() {
	server := flag.String("server", "", "URL of the IM server, e.g. http://127.0.0.1:8080/IMserver.php")
	flag.Parse()
	if *server == "" {
		fmt.Fprintln(os.Stderr, "usage: imchat -server URL")
		os.Exit(2)
	}
	rand.Seed(time.Now().UnixNano())
	s := &kv{base: *server}
	id := fmt.Sprintf("%d-%x", os.Getpid(), rand.Int63())

	me := join(s, id)
	if me == 0 {
		println("server busy: a conversation is already going on")
		os.Exit(1)
	}
	myBeat, peerBeat := "beat_one", "beat_two"
	if me == 2 {
		myBeat, peerBeat = "beat_two", "beat_one"
	}

	done := make(chan struct{})
	go func() {
		t := time.NewTicker(beatEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s.Set(myBeat, now())
			}
		}
	}()

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- strings.TrimRight(sc.Text(), "\r")
		}
		close(lines)
	}()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)

	leave := func() {
		close(done)
		s.Unset(myBeat)
		s.Set("status", "off")
		println("you left the conversation")
		os.Exit(0)
	}
	peerLeft := func(dead bool) {
		close(done)
		s.Unset(myBeat)
		if dead {
			s.Unset(peerBeat)
			s.Set("status", "off")
			println("peer has left the conversation (timed out)")
		} else {
			println("peer has left the conversation")
		}
		os.Exit(0)
	}

	var queue []string
	eof := false
	ticker := time.NewTicker(pollEvery)
	defer ticker.Stop()

	// wait for a partner
	if me == 1 {
		println("[connected as user 1] waiting for a partner...")
		for s.Get("status") != "two" {
			if s.Get("status") != "one" {
				println("[conversation was reset, exiting]")
				os.Exit(1)
			}
			select {
			case <-sigs:
				leave()
			case l, ok := <-lines:
				if !ok {
					leave()
				}
				if l == quitWord {
					leave()
				}
				queue = append(queue, l)
			case <-ticker.C:
			}
		}
		println("[partner joined] you go first")
	} else {
		println("[connected as user 2] partner goes first, waiting...")
	}

	sending := me == 1
	var lastSent string
	minePending := false
	prompted := false

	for {
		if sending && !prompted {
			fmt.Print("> ")
			prompted = true
		}
		if len(queue) > 0 && queue[0] == quitWord {
			leave()
		}
		if eof && len(queue) == 0 {
			leave()
		}
		if sending && len(queue) > 0 {
			text := queue[0]
			queue = queue[1:]
			if s.Get("status") != "two" {
				peerLeft(false)
			}
			s.Set("sender", id)
			s.Set("message", text)
			s.Set("received", "1")
			lastSent, minePending = text, true
			sending, prompted = false, false
			println("...waiting for peer")
			continue
		}
		if !sending {
			if s.Get("received") == "1" {
				text := s.Get("message")
				forMe := true
				if minePending {
					from := s.Get("sender")
					if (from == "" || from == id) && text == lastSent {
						forMe = false
					}
				}
				if forMe {
					println("<peer> %s", text)
					s.Set("received", "0")
					minePending = false
					sending = true
					continue
				}
			} else {
				minePending = false
			}
		}
		if s.Get("status") != "two" {
			peerLeft(false)
		}
		if stale(s, peerBeat) {
			peerLeft(true)
		}
		select {
		case <-sigs:
			leave()
		case l, ok := <-lines:
			if !ok {
				lines = nil
				eof = true
			} else {
				queue = append(queue, l)
			}
		case <-ticker.C:
		}
	}
}
