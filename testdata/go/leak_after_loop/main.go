// leak_after_loop: the seed's consumer. Every message goes through a
// select with time.After(time.Hour) as its timeout; the message wins, and
// the timer is abandoned. Up to Go 1.22 each one stays in the runtime's
// timer heap, with its channel, for the hour: 100,000 messages keep
// 100,000 timers. From Go 1.23 they are collected at once: churn.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"timerleak.test/testdata/wait"
)

func consume(msgs <-chan int) int {
	n := 0
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return n
			}
			n += m
		case <-time.After(time.Hour): // leak: the timer outlives the turn
			fmt.Println("timeout")
		}
	}
}

func main() {
	count := 100000
	if len(os.Args) > 1 {
		count, _ = strconv.Atoi(os.Args[1])
	}
	if os.Getenv("TL_GO_HEAP") != "" {
		runtime.MemProfileRate = 1 // every allocation, for an exact comparison
	}
	wait.Ready()
	msgs := make(chan int)
	go func() {
		for i := 0; i < count; i++ {
			msgs <- 1
			if i%100 == 99 {
				time.Sleep(time.Millisecond) // about 1.5 s for 100,000
			}
		}
		close(msgs)
	}()
	fmt.Println("consumed", consume(msgs))
	// Go's own account of the same memory, for comparison.
	if path := os.Getenv("TL_GO_HEAP"); path != "" {
		runtime.GC()
		f, err := os.Create(path)
		if err == nil {
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
}
