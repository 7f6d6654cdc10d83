module github.com/olumi/isl/benchmarks

go 1.26
