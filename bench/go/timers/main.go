// The Go workload of scripts/bench-record-go: Go timer operations in a loop,
// timed by the program's own clock, for timerleak-record and bpftrace to be
// attached to from outside. The program warms up, stops itself (SIGSTOP)
// at the start line, and is continued once its recorder is attached.
//
// Usage: timers -work stop|reset|afterfunc -iters N [-warmup N] [-depth N]
//
//	stop       NewTimer(1h), then Stop: 2 timer events (a create, a stop)
//	reset      Reset(1h) of one timer that is always active: 1 event
//	afterfunc  AfterFunc(1h, f), then Stop: 2 events
//
// It prints "ops=N wall_ns=T events=E".
package main

import (
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"
)

var sink int

func op(work string, t *time.Timer) {
	switch work {
	case "stop":
		if time.NewTimer(time.Hour).Stop() {
			sink++
		}
	case "reset":
		if t.Reset(time.Hour) {
			sink++
		}
	case "afterfunc":
		if time.AfterFunc(time.Hour, func() { sink-- }).Stop() {
			sink++
		}
	}
}

// deep calls f depth frames down, so that stacks are as deep as a service's.
//
//go:noinline
func deep(depth int, f func()) {
	if depth <= 0 {
		f()
		return
	}
	deep(depth-1, f)
}

func main() {
	work := flag.String("work", "stop", "stop, reset or afterfunc")
	iters := flag.Int("iters", 1000000, "operations timed")
	warmup := flag.Int("warmup", 10000, "operations before the start line")
	depth := flag.Int("depth", 12, "frames below main")
	flag.Parse()
	events := map[string]int{"stop": 2, "reset": 1, "afterfunc": 2}[*work]
	if events == 0 {
		fmt.Fprintln(os.Stderr, "timers: unknown -work", *work)
		os.Exit(2)
	}
	t := time.NewTimer(time.Hour)
	loop := func(n int) func() {
		return func() {
			for i := 0; i < n; i++ {
				op(*work, t)
			}
		}
	}
	deep(*depth, loop(*warmup))
	syscall.Kill(os.Getpid(), syscall.SIGSTOP)
	start := time.Now()
	deep(*depth, loop(*iters))
	wall := time.Since(start)
	fmt.Printf("ops=%d wall_ns=%d events=%d\n", *iters, wall.Nanoseconds(), *iters*events)
}
