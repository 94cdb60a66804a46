# The operator's image: a static binary (the same build as `make build`) on distroless.
#   docker build -t ghcr.io/silo-dev/silo:0.1.0 .
FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -o /out/silo .

FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=build /out/silo /silo
USER 65532:65532
ENTRYPOINT ["/silo"]
