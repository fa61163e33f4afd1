// ok_ticker: leak_ticker done right. Each request stops its ticker when
// it returns; one process-wide ticker runs for the life of the process.
package main

import (
	"fmt"
	"sync"
	"time"

	"timerleak.test/testdata/wait"
)

func handle(id int, wg *sync.WaitGroup) {
	defer wg.Done()
	progress := time.NewTicker(5 * time.Millisecond)
	defer progress.Stop()
	for i := 0; i < 2; i++ {
		<-progress.C
	}
	_ = id
}

func main() {
	wait.Ready()
	stats := time.NewTicker(100 * time.Millisecond) // process-wide: runs until exit
	go func() {
		for range stats.C {
		}
	}()
	var wg sync.WaitGroup
	for id := 0; id < 200; id++ {
		wg.Add(1)
		go handle(id, &wg)
		time.Sleep(8 * time.Millisecond)
	}
	wg.Wait()
	fmt.Println("handled 200")
}
