// leak_ticker: a progress ticker per request, never stopped. Up to Go 1.22
// every one stays in the runtime's timer heap and keeps ticking for the
// life of the process.
package main

import (
	"fmt"
	"sync"
	"time"

	"timerleak.test/testdata/wait"
)

func handle(id int, wg *sync.WaitGroup) {
	defer wg.Done()
	progress := time.NewTicker(5 * time.Millisecond) // leak: never stopped
	for i := 0; i < 2; i++ {
		<-progress.C
	}
	_ = id
}

func main() {
	wait.Ready()
	var wg sync.WaitGroup
	for id := 0; id < 200; id++ {
		wg.Add(1)
		go handle(id, &wg)
		time.Sleep(8 * time.Millisecond) // 200 requests over about 1.6 s
	}
	wg.Wait()
	fmt.Println("handled 200")
}
