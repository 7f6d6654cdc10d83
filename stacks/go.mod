module github.com/olumi/isl/stacks

go 1.26

require (
	github.com/olumi/isl/monitoring v0.0.0
	gopkg.in/yaml.v3 v3.0.1
)

require gopkg.in/yaml.v3 v3.0.1

replace github.com/olumi/isl/monitoring => ../monitoring
