module github.com/olumi/isl/stacks

go 1.26
