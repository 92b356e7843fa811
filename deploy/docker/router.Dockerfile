# syntax=docker/dockerfile:1
# lookout-router: a static binary on distroless, running as non-root (65532).
# Build from the repository root (the context must hold go.work and every module):
#   docker build -f deploy/docker/router.Dockerfile -t ghcr.io/lookout-sec/lookout-router:0.1.0 .
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY . .
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/lookout-router ./router/cmd/lookout-router

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/lookout-router /usr/local/bin/lookout-router
# The durable queue (queue.dir default); mount a volume here.
VOLUME ["/var/lib/lookout/router"]
USER 65532:65532
EXPOSE 2801
ENTRYPOINT ["/usr/local/bin/lookout-router"]
CMD ["--config", "/etc/lookout/router/router.yaml"]
