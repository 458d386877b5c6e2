// DistSysMP2 - the seed's chat program, server and client in one binary.
//
//	./distsys -s server -s PORT            run the server (type EXIT to shut it down)
//	./distsys -s IP -s PORT -s USERNAME    run a client
//
// Written as the seed describes it: a global map from user name to connection
// (no locking), Register and Exit taken from the message the client sends, and
// a new gob encoder / decoder for every message.
package main

import (
	"bufio"
	"encoding/gob"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

type Message struct {
	To       string
	From     string
	Content  string
	Register bool
	Exit     bool
}

// connections maps user names to their connection
var connections = make(map[string]net.Conn)

type arrayFlags []string

func (a *arrayFlags) String() string     { return strings.Join(*a, " ") }
func (a *arrayFlags) Set(v string) error { *a = append(*a, v); return nil }

func main() {
	var args arrayFlags
	flag.Var(&args, "s", "server PORT | IP PORT USERNAME (repeat -s for each)")
	flag.Parse()
	if len(args) == 2 && args[0] == "server" {
		runServer(args[1])
	} else if len(args) == 3 {
		runClient(args[0], args[1], args[2])
	} else {
		fmt.Println("usage: -s server -s PORT  |  -s IP -s PORT -s USERNAME")
		os.Exit(2)
	}
}

// ------------------------------------------------------------------ server

func runServer(port string) {
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	go serverInput()
	for {
		conn, err := ln.Accept()
		if err != nil {
			fmt.Println(err)
			continue
		}
		go handleConnection(conn)
	}
}

func serverInput() {
	reader := bufio.NewReader(os.Stdin)
	for {
		text, err := reader.ReadString('\n')
		if strings.TrimSpace(text) == "EXIT" {
			for _, c := range connections {
				encoder := gob.NewEncoder(c)
				encoder.Encode(Message{Exit: true})
				c.Close()
			}
			os.Exit(0)
		}
		if err != nil {
			return // console closed: keep serving
		}
	}
}

func handleConnection(conn net.Conn) {
	for {
		decoder := gob.NewDecoder(conn)
		var msg Message
		if err := decoder.Decode(&msg); err != nil {
			conn.Close()
			return
		}
		if msg.Register {
			connections[msg.From] = conn
			continue
		}
		if msg.Exit {
			if c, ok := connections[msg.From]; ok {
				c.Close()
				delete(connections, msg.From)
			}
			continue
		}
		if to, ok := connections[msg.To]; ok {
			encoder := gob.NewEncoder(to)
			encoder.Encode(msg)
		} else {
			encoder := gob.NewEncoder(conn)
			encoder.Encode(Message{From: "Error", Content: "That user is not connected to this server"})
		}
	}
}

// ------------------------------------------------------------------ client

func runClient(ip, port, username string) {
	conn, err := net.Dial("tcp", ip+":"+port)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	encoder := gob.NewEncoder(conn)
	encoder.Encode(Message{From: username, Register: true})
	go clientListen(conn)

	reader := bufio.NewReader(os.Stdin)
	for {
		text, err := reader.ReadString('\n')
		if err == io.EOF && text == "" {
			select {} // no more input: keep printing messages until the server exits
		}
		text = strings.TrimRight(text, "\r\n")
		if text == "EXIT" {
			encoder := gob.NewEncoder(conn)
			encoder.Encode(Message{From: username, Exit: true})
			os.Exit(0) // the socket closes with the process
		}
		parts := strings.Split(text, " ")
		if len(parts) >= 3 && parts[0] == "send" {
			encoder := gob.NewEncoder(conn)
			encoder.Encode(Message{To: parts[1], From: username, Content: strings.Join(parts[2:], " ")})
		} else {
			fmt.Println("Unknown command. Use: send [USERNAME] [MESSAGE] or EXIT")
		}
	}
}

func clientListen(conn net.Conn) {
	for {
		decoder := gob.NewDecoder(conn)
		var msg Message
		if err := decoder.Decode(&msg); err != nil {
			fmt.Println("Lost connection to server")
			os.Exit(1)
		}
		if msg.Exit {
			fmt.Println("Server has shut down, exiting...")
			conn.Close()
			os.Exit(0)
		}
		fmt.Println(msg.From + ": " + msg.Content)
	}
}
