module github.com/lookout-sec/lookout/outputs

go 1.26

require (
	github.com/PagerDuty/go-pagerduty v1.8.0
	github.com/elastic/go-elasticsearch/v8 v8.19.7
	github.com/go-viper/mapstructure/v2 v2.5.0
	github.com/lookout-sec/lookout/router/api v0.0.0
	github.com/slack-go/slack v0.35.0
)

require (
	github.com/elastic/elastic-transport-go/v8 v8.9.0 // indirect
	github.com/go-logr/logr v1.4.3 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/google/go-querystring v1.1.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/segmentio/asm v1.1.3 // indirect
	github.com/segmentio/encoding v0.5.4 // indirect
	go.opentelemetry.io/otel v1.29.0 // indirect
	go.opentelemetry.io/otel/metric v1.29.0 // indirect
	go.opentelemetry.io/otel/trace v1.29.0 // indirect
	golang.org/x/sys v0.24.0 // indirect
)

replace github.com/lookout-sec/lookout/router/api => ../router/api
