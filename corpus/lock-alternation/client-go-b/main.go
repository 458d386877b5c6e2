// imchat: two people take turns over the course's key-value IM server.
//
//	usage: client URL      e.g. client http://127.0.0.1:8080/IMserver.php
//	       (or IM_SERVER_URL in the environment)
//
// The exercise's keys: connected (absent/1/2), lock (1/2), message. Client 1
// writes lock=1 and connected=1 and waits for connected=2; client 2 writes
// connected=2. Whoever's number is in lock writes message and hands lock over.
//
// Fixes on top of the plain design (same lease keys as client-py-a, so the two
// can talk to each other):
//   - each client picks a random id and holds a lease "aliveN" = "<id> <unix time>"
//     on its slot, refreshed every second. A slot with no fresh lease is free,
//     whatever connected says: leftovers of an old session or of a crashed
//     client do not matter. A new session also clears the old message.
//   - a slot is taken by writing its lease, waiting a little and reading it
//     back: of two clients starting together only the last writer keeps it.
//   - with both slots leased a third client is told the chat is full.
//   - while waiting for its turn, a client watches the other lease; when it
//     expires (or the partner quits) it says so and starts over as client 1.
//
// Console: no prompt at all. Every line typed is one message; lines typed before
// it is your turn are queued and sent one per turn. Received messages are
// printed as "<< text", status lines as "* ...", all ending in CRLF.
// ".quit" or the end of input leaves; SIGTERM/SIGINT too.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	heartbeat = time.Second
	lease     = 4 * time.Second
	settle    = 600 * time.Millisecond
	poll      = 300 * time.Millisecond
)

var (
	errFull    = errors.New("chat full")
	errGone    = errors.New("partner gone")
	errEvicted = errors.New("slot taken over")
	errQuit    = errors.New("quit")
)

var out = bufio.NewWriter(os.Stdout)
var outMu sync.Mutex

func say(format string, args ...interface{}) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(out, format+"\r\n", args...)
	out.Flush()
}

// ---- the IM server ---------------------------------------------------------

var httpc = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// escape percent-encodes like the course's clients: %20 for space, "/" kept.
func escape(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	return strings.ReplaceAll(e, "%2F", "/")
}

type im struct{ base string }

func (s im) call(params ...string) string {
	var q []string
	for i := 0; i+1 < len(params); i += 2 {
		q = append(q, params[i]+"="+escape(params[i+1]))
	}
	u := s.base + "?" + strings.Join(q, "&")
	for {
		resp, err := httpc.Get(u)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return strings.TrimSuffix(string(body), "\n")
			}
			err = fmt.Errorf("status %d %v", resp.StatusCode, rerr)
		}
		say("* server problem (%v), retrying", err)
		time.Sleep(time.Second)
	}
}

func (s im) get(key string) string { return s.call("action", "get", "key", key) }
func (s im) set(key, value string) { s.call("action", "set", "key", key, "value", value) }
func (s im) unset(key string)      { s.call("action", "unset", "key", key) }

// ---- leases ------------------------------------------------------------------

func owner(v string) string {
	if i := strings.IndexByte(v, ' '); i >= 0 {
		return v[:i]
	}
	return v
}

func fresh(v string) bool {
	i := strings.IndexByte(v, ' ')
	if i < 0 {
		return false
	}
	t, err := strconv.ParseFloat(v[i+1:], 64)
	if err != nil {
		return false
	}
	age := float64(time.Now().UnixNano())/1e9 - t
	return age < lease.Seconds()
}

func aliveKey(slot int) string { return "alive" + strconv.Itoa(slot) }

type client struct {
	s  im
	id string

	mu      sync.Mutex
	slot    int
	evicted bool
	stopped bool

	lines <-chan string
	queue []string
	eof   bool
}

func (c *client) stamp() string {
	return fmt.Sprintf("%s %.3f", c.id, float64(time.Now().UnixNano())/1e9)
}

func (c *client) heartbeat() {
	for range time.Tick(heartbeat) {
		c.mu.Lock()
		if c.slot != 0 && !c.stopped {
			k := aliveKey(c.slot)
			if owner(c.s.get(k)) != c.id {
				c.evicted, c.slot = true, 0
			} else {
				c.s.set(k, c.stamp())
			}
		}
		c.mu.Unlock()
	}
}

func (c *client) claim(slot int) bool {
	k := aliveKey(slot)
	c.s.set(k, c.stamp())
	time.Sleep(settle)
	if owner(c.s.get(k)) != c.id {
		return false
	}
	c.mu.Lock()
	c.slot, c.evicted = slot, false
	c.mu.Unlock()
	return true
}

func (c *client) release() {
	c.mu.Lock()
	slot := c.slot
	c.slot = 0
	c.mu.Unlock()
	if slot != 0 && owner(c.s.get(aliveKey(slot))) == c.id {
		c.s.set(aliveKey(slot), c.id+" 0")
	}
}

func (c *client) wasEvicted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.evicted
	c.evicted = false
	return e
}

// ---- console -------------------------------------------------------------

// drain moves typed lines into the queue without blocking; it reports a quit.
func (c *client) drain() error {
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.lines, c.eof = nil, true
				if len(c.queue) == 0 {
					return errQuit
				}
				return nil
			}
			if strings.TrimSpace(l) == ".quit" {
				return errQuit
			}
			c.queue = append(c.queue, l)
		default:
			return nil
		}
	}
}

// next returns the next message to send, waiting for the person if needed.
func (c *client) next() (string, error) {
	if err := c.drain(); err != nil {
		return "", err
	}
	if len(c.queue) > 0 {
		l := c.queue[0]
		c.queue = c.queue[1:]
		return l, nil
	}
	if c.eof {
		return "", errQuit
	}
	l, ok := <-c.lines
	if !ok || strings.TrimSpace(l) == ".quit" {
		return "", errQuit
	}
	return l, nil
}

// ---- the protocol ------------------------------------------------------------

func (c *client) join() (int, error) {
	for {
		connected := c.s.get("connected")
		live1 := fresh(c.s.get("alive1"))
		live2 := fresh(c.s.get("alive2"))
		switch {
		case !live1 && !live2:
			if c.claim(1) {
				c.s.unset("message") // nothing from an old session
				c.s.set("lock", "1")
				c.s.set("connected", "1")
				return 1, nil
			}
		case live1 && !live2:
			if connected == "1" && c.claim(2) {
				c.s.set("connected", "2")
				return 2, nil
			}
		case live1 && live2:
			return 0, errFull
		}
		if err := c.drain(); err != nil {
			return 0, err
		}
		time.Sleep(poll)
	}
}

func (c *client) start() (int, error) {
	me, err := c.join()
	if err != nil {
		return 0, err
	}
	if me == 2 {
		say("* you are client 2 - the other side writes first")
		return 2, nil
	}
	say("* you are client 1 - waiting for someone to join")
	for c.s.get("connected") != "2" {
		if c.wasEvicted() {
			return c.start()
		}
		if err := c.drain(); err != nil {
			return 0, err
		}
		time.Sleep(poll)
	}
	say("* someone joined - you write first")
	return 1, nil
}

func (c *client) waitTurn(me, other int) error {
	mine := strconv.Itoa(me)
	seen := false
	var nextCheck time.Time
	for {
		if c.wasEvicted() {
			return errEvicted
		}
		if c.s.get("lock") == mine {
			say("<< %s", c.s.get("message"))
			return nil
		}
		if err := c.drain(); err != nil {
			return err
		}
		if now := time.Now(); now.After(nextCheck) {
			nextCheck = now.Add(heartbeat)
			v := c.s.get(aliveKey(other))
			if v != "" {
				seen = true
			}
			if (v != "" && !fresh(v)) || (v == "" && seen) {
				c.s.set(aliveKey(other), "gone 0")
				return errGone
			}
		}
		time.Sleep(poll)
	}
}

func (c *client) chat(me int) error {
	mine, theirs := strconv.Itoa(me), strconv.Itoa(3-me)
	for {
		if c.s.get("lock") == mine {
			text, err := c.next()
			if err != nil {
				return err
			}
			c.s.set("message", text)
			c.s.set("lock", theirs)
			continue
		}
		if err := c.waitTurn(me, 3-me); err != nil {
			return err
		}
	}
}

func (c *client) run() error {
	me, err := c.start()
	for err == nil {
		err = c.chat(me)
		switch err {
		case errGone:
			say("* the other side left")
			c.release()
		case errEvicted:
			say("* lost my place, joining again")
		default:
			return err
		}
		me, err = c.start()
	}
	return err
}

func (c *client) leave() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	slot := c.slot
	c.mu.Unlock()
	if slot == 0 {
		return
	}
	if owner(c.s.get(aliveKey(slot))) == c.id {
		c.s.set(aliveKey(slot), c.id+" 0")
	}
	// alone and nobody coming: tidy up our session
	if slot == 1 && c.s.get("connected") == "1" {
		c.s.unset("connected")
		c.s.unset("lock")
	}
}

func main() {
	base := os.Getenv("IM_SERVER_URL")
	if len(os.Args) > 1 {
		base = os.Args[1]
	}
	if base == "" {
		fmt.Fprintln(os.Stderr, "usage: client URL   (e.g. http://127.0.0.1:8080/IMserver.php)")
		os.Exit(2)
	}

	var idb [6]byte
	rand.Read(idb[:])
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			lines <- strings.TrimRight(sc.Text(), "\r")
		}
		close(lines)
	}()
	c := &client{s: im{base}, id: hex.EncodeToString(idb[:]), lines: lines}
	go c.heartbeat()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		c.leave()
		say("* bye")
		os.Exit(0)
	}()

	err := c.run()
	if err == errFull {
		say("* sorry, two people are chatting already")
		os.Exit(1)
	}
	c.leave()
	say("* bye")
}
