// ok_reset_drain: leak_reset_nodrain done right: Stop, drain if Stop says
// the timer had fired, then Reset.
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
		time.Sleep(3 * time.Millisecond)
		if !t.Stop() {
			<-t.C
		}
		t.Reset(50 * time.Millisecond)
		start := time.Now()
		<-t.C
		if time.Since(start) < 25*time.Millisecond {
			false_timeouts++
		}
		t.Reset(time.Millisecond)
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Println("false timeouts:", false_timeouts)
}
