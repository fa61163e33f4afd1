// ok_afterfunc: leak_afterfunc done right. The callback is stopped when
// the request is done, and captures only the request's id.
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

var expired int

func serve(r *request) {
	id := r.id
	t := time.AfterFunc(time.Hour, func() { expired += id })
	defer t.Stop()
	r.buf[0] = byte(r.id)
}

func main() {
	wait.Ready()
	for id := 0; id < 300; id++ {
		serve(&request{id: id, buf: make([]byte, 64<<10)})
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Println("served 300")
}
