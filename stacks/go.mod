module github.com/olumi/isl/stacks

go 1.26

require github.com/olumi/isl/monitoring v0.0.0

replace github.com/olumi/isl/monitoring => ../monitoring
