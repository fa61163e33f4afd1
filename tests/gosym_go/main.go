// A Go program for the symbol-table tests: methods, closures, inlined
// calls and timers, so that its table has each kind of function.
package main

import (
	"fmt"
	"os"
	"time"
)

type ticker struct{ t *time.Ticker }

func (k *ticker) stop() { k.t.Stop() }

func after(d time.Duration) <-chan time.Time { return time.After(d) }

//go:noinline
func loop(n int) int {
	k := &ticker{time.NewTicker(time.Hour)}
	defer k.stop()
	done := 0
	for i := 0; i < n; i++ {
		select {
		case <-after(time.Microsecond):
			done++
		case <-time.After(time.Hour):
		}
	}
	f := func() { done++ }
	time.AfterFunc(time.Hour, f).Stop()
	t := time.NewTimer(time.Hour)
	t.Reset(time.Millisecond)
	<-t.C
	time.Sleep(time.Microsecond)
	return done
}

func main() {
	fmt.Fprintln(os.Stdout, loop(3))
}
