# samagate: multi-stage build of a static binary (the SQLite driver is pure
# Go, so CGO is off) into a minimal image that runs as a non-root user.
#
#   docker build -t samagate .
#   docker run -p 9001:9001 -v samagate-data:/data samagate
#
# This machine has no Docker engine; the file is kept correct by
# construction (see README).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/samagate ./cmd/samagate \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/samagate /usr/local/bin/samagate
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot:nonroot
ENV SAMAGATE_ADDR=:9001 SAMAGATE_DATA_DIR=/data SAMAGATE_LOG_FORMAT=json
VOLUME /data
EXPOSE 9001
ENTRYPOINT ["/usr/local/bin/samagate"]
