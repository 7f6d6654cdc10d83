module github.com/olumi/isl/monitoring

go 1.26
