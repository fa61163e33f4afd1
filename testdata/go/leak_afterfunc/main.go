// leak_afterfunc: a cleanup callback per request, an hour away, holding
// the whole request (its 64 KiB buffer) until then. The request is done in
// milliseconds; the timer is never stopped: every request stays in memory
// for the hour, on every Go version.
package main

import (
	"fmt"
	"time"

	"timerleak.test/testdata/wait"
)

type request struct {
	id  int
	buf []byte
}

var cleaned int

func serve(r *request) {
	time.AfterFunc(time.Hour, func() { // leak: pins r until it fires
		cleaned += len(r.buf)
	})
	r.buf[0] = byte(r.id)
}

func main() {
	wait.Ready()
	for id := 0; id < 300; id++ {
		serve(&request{id: id, buf: make([]byte, 64<<10)})
		time.Sleep(5 * time.Millisecond) // 300 requests over about 1.5 s
	}
	fmt.Println("served 300")
}
