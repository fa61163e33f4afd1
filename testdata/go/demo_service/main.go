// demo_service: a Go service with the timer bugs the seeds describe, for
// timerleak-record to find while it runs. It serves until SIGTERM:
//
//   - a consumer reads a message stream with a time.After timeout in its
//     select: up to Go 1.22 each abandoned timer stays for its minute;
//   - each request streams progress with a ticker it never stops;
//   - each session sets a keepalive timer and resets it without draining;
//   - a cache janitor ticks for the life of the process (correct).
//
// Usage: demo_service [-rate REQUESTS_PER_SECOND]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func consume(msgs <-chan []byte) {
	for {
		select {
		case m := <-msgs:
			_ = len(m)
		case <-time.After(time.Minute): // a new timer per message
			fmt.Println("no message for a minute")
		}
	}
}

func streamProgress(done <-chan struct{}) {
	progress := time.NewTicker(100 * time.Millisecond) // never stopped
	for {
		select {
		case <-progress.C:
		case <-done:
			return
		}
	}
}

func handleRequest(id int) {
	done := make(chan struct{})
	go streamProgress(done)
	time.Sleep(20 * time.Millisecond) // the work
	close(done)
}

func keepaliveReset(t *time.Timer) {
	t.Reset(50 * time.Millisecond) // no drain: a fired value may wait in t.C
}

func session() {
	keepalive := time.NewTimer(5 * time.Millisecond)
	for {
		time.Sleep(10 * time.Millisecond) // busy: the keepalive fires meanwhile
		keepaliveReset(keepalive)
	}
}

func janitor() {
	sweep := time.NewTicker(time.Second) // for the life of the process
	for range sweep.C {
	}
}

func main() {
	rate := flag.Int("rate", 100, "requests per second")
	flag.Parse()
	msgs := make(chan []byte)
	go consume(msgs)
	go janitor()
	go session()
	go func() {
		for {
			msgs <- make([]byte, 64)
			time.Sleep(time.Millisecond)
		}
	}()
	go func() {
		for id := 0; ; id++ {
			go handleRequest(id)
			time.Sleep(time.Second / time.Duration(*rate))
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
