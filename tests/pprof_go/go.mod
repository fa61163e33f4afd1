module timerleak/tests/pprof_go

go 1.19
