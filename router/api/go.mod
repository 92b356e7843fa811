module github.com/lookout-sec/lookout/router/api

go 1.26

require github.com/segmentio/encoding v0.5.4

require (
	github.com/segmentio/asm v1.1.3 // indirect
	golang.org/x/sys v0.22.0 // indirect
)
