// status-handshake chat client for the IM key-value store.
//
// Protocol keys: status (off/one/two), received (0/1), message.
// Extra keys: sender (one/two), alive.one/alive.two (heartbeats, ms since the epoch),
// join.<id> (short-lived flags so that only one client joins at a time).
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
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type store struct{ base string }

func (s store) call(q string) string {
	resp, err := http.Get(s.base + "?" + q)
	if err != nil {
		fmt.Println("Lost the store:", err)
		os.Exit(2)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSuffix(string(b), "\n")
}

func esc(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

func (s store) get(k string) string    { return s.call("action=get&key=" + esc(k)) }
func (s store) set(k, v string)        { s.call("action=set&key=" + esc(k) + "&value=" + esc(v)) }
func (s store) unset(k string)         { s.call("action=unset&key=" + esc(k)) }
func (s store) keys() []string {
	var out []string
	for _, k := range strings.Split(s.call("action=keys"), "\n") {
		if k != "" {
			out = append(out, k)
		}
	}
	return out
}

func nowMs() int64 { return time.Now().UnixNano() / 1e6 }

type client struct {
	s       store
	timeout time.Duration
	id      string
	me      string
	peer    string
}

func (c *client) alive(who string) bool {
	t, err := strconv.ParseInt(c.s.get("alive."+who), 10, 64)
	return err == nil && nowMs()-t <= c.timeout.Milliseconds()
}

// lock/unlock: mutual exclusion using flags in the store. The smallest id wins a tie.
func (c *client) lock() {
	mine := "join." + c.id
	for {
		c.s.set(mine, strconv.FormatInt(nowMs(), 10))
		var others []string
		for _, k := range c.s.keys() {
			if !strings.HasPrefix(k, "join.") || k == mine {
				continue
			}
			t, err := strconv.ParseInt(c.s.get(k), 10, 64)
			if err == nil && nowMs()-t < 5000 {
				others = append(others, k)
			} else {
				c.s.unset(k) // stale flag of a dead client
			}
		}
		if len(others) == 0 {
			return
		}
		sort.Strings(others)
		if others[0] < mine {
			c.s.unset(mine)
			time.Sleep(time.Duration(50+rand.Intn(150)) * time.Millisecond)
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (c *client) unlock() { c.s.unset("join." + c.id) }

func (c *client) join() bool {
	c.lock()
	defer c.unlock()
	status := c.s.get("status")
	switch {
	case status == "two" && (c.alive("one") || c.alive("two")):
		return false
	case status == "one" && c.alive("one"):
		c.me, c.peer = "two", "one"
		c.s.set("alive.two", strconv.FormatInt(nowMs(), 10))
		c.s.set("status", "two")
	default:
		c.me, c.peer = "one", "two"
		c.s.unset("message")
		c.s.unset("sender")
		c.s.set("received", "0")
		c.s.set("alive.one", strconv.FormatInt(nowMs(), 10))
		c.s.set("status", "one")
	}
	return true
}

func (c *client) finish() {
	c.lock()
	c.s.set("status", "off")
	c.s.set("received", "0")
	for _, k := range []string{"message", "sender", "alive.one", "alive.two"} {
		c.s.unset(k)
	}
	c.unlock()
}

func main() {
	storeURL := flag.String("store", "http://127.0.0.1:8000/", "URL of the key-value store")
	timeout := flag.Duration("timeout", 3*time.Second, "partner heartbeat timeout")
	flag.Parse()
	base := *storeURL
	if u, err := url.Parse(base); err == nil && u.Path == "" {
		base += "/"
	}
	rand.Seed(time.Now().UnixNano())
	c := &client{s: store{base}, timeout: *timeout, id: fmt.Sprintf("%d-%06d", os.Getpid(), rand.Intn(1000000))}

	if !c.join() {
		fmt.Println("Server in use. Bye.")
		os.Exit(1)
	}

	lines := make(chan string, 100)
	quit := make(chan bool, 2)
	go func() {
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			line := strings.TrimRight(in.Text(), "\r")
			if strings.TrimSpace(line) == "/bye" {
				break
			}
			lines <- line
		}
		quit <- true
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; quit <- true }()

	go func() {
		for {
			time.Sleep(c.timeout / 6)
			c.s.set("alive."+c.me, strconv.FormatInt(nowMs(), 10))
		}
	}()

	tick := time.NewTicker(100 * time.Millisecond)
	// wait blocks until cond() holds, watching for quit and for the partner leaving.
	wait := func(cond func() bool, watchPeer bool) {
		for !cond() {
			select {
			case <-quit:
				c.finish()
				fmt.Println("Closing.")
				os.Exit(0)
			case <-tick.C:
			}
			if watchPeer {
				if c.s.get("status") != "two" {
					fmt.Println("Partner left, closing.")
					os.Exit(0)
				}
				if !c.alive(c.peer) {
					c.finish()
					fmt.Println("Partner left, closing.")
					os.Exit(0)
				}
			}
		}
	}

	sending := c.me == "one"
	if sending {
		fmt.Println("Joined as first user. Waiting for a partner.")
		wait(func() bool { return c.s.get("status") == "two" }, false)
		fmt.Println("Partner joined.")
	} else {
		fmt.Println("Joined as second user. Partner writes first.")
	}

	var next string
	for {
		if sending {
			fmt.Println("[your turn]")
			got := false
			wait(func() bool {
				if got {
					return true
				}
				select {
				case next = <-lines:
					got = true
				default:
				}
				return got
			}, true)
			c.s.set("message", next)
			c.s.set("sender", c.me)
			c.s.set("received", "1")
		} else {
			fmt.Println("[partner is typing]")
			var msg string
			wait(func() bool {
				if c.s.get("received") != "1" || c.s.get("sender") != c.peer {
					return false
				}
				msg = c.s.get("message")
				return strings.TrimSpace(msg) != ""
			}, true)
			fmt.Println("partner> " + msg)
			c.s.set("received", "0")
		}
		sending = !sending
	}
}
