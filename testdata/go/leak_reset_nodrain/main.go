// leak_reset_nodrain: the seed's Reset pitfall. A timeout timer fires
// while the worker is busy; the worker then resets it without draining
// its channel, and (up to Go 1.22) the stale value is received at once, as
// if the new timeout had expired.
package main

import (
	"fmt"
	"time"

	"timerleak.test/testdata/wait"
)

func main() {
	wait.Ready()
	t := time.NewTimer(time.Millisecond)
	false_timeouts := 0
	for i := 0; i < 50; i++ {
		time.Sleep(3 * time.Millisecond) // busy: the timer fires meanwhile
		t.Reset(50 * time.Millisecond)   // bug: the fired value is still in t.C
		start := time.Now()
		<-t.C
		if time.Since(start) < 25*time.Millisecond {
			false_timeouts++ // "should not happen"
		}
		t.Reset(time.Millisecond)
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Println("false timeouts:", false_timeouts)
}
