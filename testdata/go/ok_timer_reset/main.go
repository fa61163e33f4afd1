// ok_timer_reset: leak_after_loop's consumer done right. One timer for
// the whole loop, stopped, drained and reset on every turn: nothing is
// left behind, on any Go version.
package main

import (
	"fmt"
	"time"

	"timerleak.test/testdata/wait"
)

func consume(msgs <-chan int) int {
	n := 0
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		if !t.Stop() {
			<-t.C
		}
		t.Reset(time.Hour)
		select {
		case m, ok := <-msgs:
			if !ok {
				return n
			}
			n += m
		case <-t.C:
			fmt.Println("timeout")
		}
	}
}

func main() {
	wait.Ready()
	msgs := make(chan int)
	go func() {
		for i := 0; i < 100000; i++ {
			msgs <- 1
			if i%100 == 99 {
				time.Sleep(time.Millisecond)
			}
		}
		close(msgs)
	}()
	fmt.Println("consumed", consume(msgs))
}
