# ticketsync: one static binary (worker | api | migrate | tickets …) on a small Alpine base.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t ticketsync:local .
#   docker run --rm ticketsync:local version
#
# docker-compose.temporal.yml builds this for its ticketsync-migrate, -worker and -api services.

# The builder's Go is the go.mod toolchain (go 1.26.8); deploy/compose_test.go checks they agree.
FROM golang:1.26.8 AS build
WORKDIR /src
# Use the image's Go, never download another toolchain.
ENV GOTOOLCHAIN=local GOFLAGS=-mod=readonly
# Dependencies first: this layer stays cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# CGO_ENABLED=0: a static binary (the SQLite driver is pure Go), so the final image needs no libc
# from the builder. .git is not in the build context, so there is no VCS stamp; VERSION is it.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/ticketsync/ticketsync/config.Version=${VERSION}" \
      -o /out/ticketsync ./cmd/ticketsync

# Alpine rather than distroless: busybox wget serves the compose healthcheck (GET /healthz).
FROM alpine:3.22
ARG VERSION=dev
LABEL org.opencontainers.image.title="ticketsync" \
      org.opencontainers.image.description="Keeps service tickets in sync between request systems and work systems" \
      org.opencontainers.image.version="${VERSION}"
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S -g 10001 ticketsync \
 && adduser -S -D -H -u 10001 -G ticketsync -h /var/lib/ticketsync -s /sbin/nologin ticketsync \
 && mkdir -p /var/lib/ticketsync /etc/ticketsync \
 && chown ticketsync:ticketsync /var/lib/ticketsync
COPY --from=build /out/ticketsync /usr/local/bin/ticketsync
# Listen on every interface inside the container (the binary's default is 127.0.0.1:8080). The
# default SQLite store (./.ticketsync/) lands in the working directory, which the user owns.
ENV TICKETSYNC_HTTP_ADDR=0.0.0.0:8080
WORKDIR /var/lib/ticketsync
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ticketsync"]
CMD ["api"]
