// Package wait holds a test program until its recorder is attached: the
// program says "ready", then waits for a line on its standard input.
package wait

import (
	"bufio"
	"fmt"
	"os"
)

// Ready says the program runs, and returns once told to go on.
func Ready() {
	fmt.Printf("ready %d\n", os.Getpid())
	bufio.NewReader(os.Stdin).ReadString('\n')
}
