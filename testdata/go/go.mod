module timerleak.test/testdata

go 1.19
