// pprof_go - the reference for timerleak's pprof contract: a Go program
// that leaks timers the way the testdata programs do (tickers never
// stopped, time.After in a loop) and writes its heap profile with Go's own
// runtime/pprof, every allocation recorded (MemProfileRate = 1). The tests
// pass this profile and a timerleak profile through the same go tool pprof
// commands to show that the two have the same sample types.
//
// Usage: pprof_go [-n TICKERS] [-a AFTERS] OUT.pb.gz
// Prints one line: tickers=N afters=N
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

var keep []*time.Ticker

//go:noinline
func leakTicker() {
	keep = append(keep, time.NewTicker(time.Hour)) // never stopped
}

//go:noinline
func waitMessage(in chan int) {
	select {
	case <-in:
	case <-time.After(time.Hour): // one per message, abandoned
	}
}

func main() {
	runtime.MemProfileRate = 1
	n := flag.Int("n", 50, "tickers")
	a := flag.Int("a", 200, "afters")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: pprof_go [-n TICKERS] [-a AFTERS] OUT.pb.gz")
		os.Exit(2)
	}
	for i := 0; i < *n; i++ {
		leakTicker()
	}
	in := make(chan int, 1)
	for i := 0; i < *a; i++ {
		in <- i
		waitMessage(in)
	}
	runtime.GC() // the heap profile shows the state as of the last GC
	f, err := os.Create(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("tickers=%d afters=%d\n", *n, *a)
}
