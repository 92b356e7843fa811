# syntax=docker/dockerfile:1
# lookout-router: a static binary on distroless, running as non-root (65532).
# Build from the repository root (the context must hold go.work and every
# module); multi-arch with buildx (docs/releasing.md):
#   docker buildx build --platform linux/amd64,linux/arm64 -f deploy/docker/router.Dockerfile \
#     --build-arg VERSION=$(git describe --tags) --build-arg COMMIT=$(git rev-parse HEAD) \
#     -t ghcr.io/lookout-sec/lookout-router:0.1.0 .
# deploy/validate (TestImageRootfs) assembles the final stage's rootfs with the
# same steps and runs the binary from it.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY . .
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w -X github.com/lookout-sec/lookout/router/api/buildinfo.Version=${VERSION} -X github.com/lookout-sec/lookout/router/api/buildinfo.Commit=${COMMIT} -X github.com/lookout-sec/lookout/router/api/buildinfo.Date=${BUILD_DATE}" -o /out/lookout-router ./router/cmd/lookout-router

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/lookout-router /usr/local/bin/lookout-router
# The durable queue (queue.dir default); mount a volume here.
VOLUME ["/var/lib/lookout/router"]
USER 65532:65532
EXPOSE 2801
ENTRYPOINT ["/usr/local/bin/lookout-router"]
CMD ["--config", "/etc/lookout/router/router.yaml"]
