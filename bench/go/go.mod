// The Go side of scripts/bench-runtime: Go 1.19's time package on the same
// work as bench/bench_runtime.c. Standard library only, so it builds with
// no network and no module cache.
module timerleak/bench

go 1.19
