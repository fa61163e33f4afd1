// Go 1.19's time package on the work that bench/bench_runtime.c gives
// libgotimer, so that scripts/bench-runtime can print each pair and its
// ratio. Both files describe the same work in the same words:
//
// Timer operations (run for the default -benchtime, b.N scaled by the
// testing package; one op is):
//
//	TimerNewStop    NewTimer(1h), then Stop. The timer is then garbage; C
//	                has no collector, so its side also frees the handle.
//	TimerReset      Reset(1h) of one timer that is always active.
//	TimerStopReset  Stop, then Reset(1h), of one timer.
//
// Fixed work (run with -benchtime 100000x, so b.N is 100,000 and one op is
// one timer or one message; the testing package runs b.N=1 first, and so
// does the C side):
//
//	PendingTimers          create b.N pending NewTimer(1h) timers and keep
//	                       them; report the heap growth per timer after a GC
//	                       (B/timer).
//	ConsumerAfter          the seed's after-in-loop consumer: a producer sends
//	                       b.N tokens on an unbuffered channel; the consumer
//	                       selects on {in, time.After(1h), done}. ns/op is ns
//	                       per message; retained-B is the heap growth over the
//	                       run, after a GC (the seed's getAlloc).
//	                       One untimed message goes first, so the consumer is
//	                       in its loop.
//	ConsumerStopDrainReset the same producer; the consumer owns one timer and
//	                       calls the seed's resetTimer (Stop, drain, Reset(1h))
//	                       before each select on {in, timer.C, done}.
//
// The seed's consumer watches ctx.Done(); a plain done channel is the same
// select case without the context machinery, and it is what the C side has.
//
// Go 1.19 has only the async (buffered, Go <= 1.22) timer channels, so this
// file is compared with both of libgotimer's modes.
//
// Each fixed-work benchmark should run in a fresh process (count 1): the
// timers that the after-in-loop consumer abandons stay in the runtime for
// an hour and would slow every later run.
package bench

import (
	"runtime"
	"testing"
	"time"
)

type token struct{}

const timeout = time.Hour

// getAlloc returns the bytes of allocated heap objects after a garbage
// collection, as the seed measures it.
func getAlloc() int64 {
	var m runtime.MemStats

	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// resetTimer stops, drains and resets the timer: the seed's helper, the only
// correct Reset before Go 1.23.
func resetTimer(t *time.Timer, d time.Duration) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	t.Reset(d)
}

func BenchmarkTimerNewStop(b *testing.B) {
	for i := 0; i < b.N; i++ {
		t := time.NewTimer(timeout)
		t.Stop()
	}
}

func BenchmarkTimerReset(b *testing.B) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t.Reset(timeout)
	}
}

func BenchmarkTimerStopReset(b *testing.B) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t.Stop()
		t.Reset(timeout)
	}
}

func BenchmarkPendingTimers(b *testing.B) {
	// The slice that keeps the timers reachable is allocated before the
	// first measurement, so it is not counted.
	timers := make([]*time.Timer, b.N)
	before := getAlloc()
	b.ResetTimer()
	for i := range timers {
		timers[i] = time.NewTimer(timeout)
	}
	b.StopTimer()
	after := getAlloc()
	runtime.KeepAlive(timers)
	for _, t := range timers {
		t.Stop()
	}
	b.ReportMetric(float64(after-before)/float64(b.N), "B/timer")
}

func afterConsumer(done <-chan struct{}, in <-chan token) {
	for {
		select {
		case <-in:
			// do stuff
		case <-time.After(timeout):
			// log warning
		case <-done:
			return
		}
	}
}

func stopDrainResetConsumer(done <-chan struct{}, in <-chan token) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		resetTimer(timer, timeout)
		select {
		case <-in:
			// do stuff
		case <-timer.C:
			// log warning
		case <-done:
			return
		}
	}
}

// runConsumer times b.N sends to consumer and reports the heap it retains.
func runConsumer(b *testing.B, consumer func(<-chan struct{}, <-chan token)) {
	in := make(chan token)
	done := make(chan struct{})
	exited := make(chan struct{})

	go func() {
		consumer(done, in)
		close(exited)
	}()
	// One untimed message first, so that the consumer has set up its loop
	// (and its timer) before the first measurement.
	in <- token{}
	before := getAlloc()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in <- token{}
	}
	b.StopTimer()
	after := getAlloc()
	close(done)
	<-exited
	b.ReportMetric(float64(after-before), "retained-B")
}

func BenchmarkConsumerAfter(b *testing.B) {
	runConsumer(b, afterConsumer)
}

func BenchmarkConsumerStopDrainReset(b *testing.B) {
	runConsumer(b, stopDrainResetConsumer)
}
