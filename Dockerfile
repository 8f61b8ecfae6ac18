# dbtrust in a container: a static binary on a distroless base, run as a
# non-root user, serving HTTPS on 0.0.0.0:8443 with a certificate it issues
# from its internal CA (/data/tls/ca.pem), its data in the /data volume.
#
#   docker build --build-arg VERSION=v1.0.0 -t dbtrust .
#   docker run -d --name dbtrust -p 8443:8443 -v dbtrust-data:/data dbtrust
#   docker logs dbtrust        # the first owner token, printed once
#   docker cp dbtrust:/data/tls/ca.pem dbtrust-ca.pem   # for --server-ca
#
# Give your own certificate with DBTRUST_TLS_CERT/DBTRUST_TLS_KEY (mounted
# files), or a PostgreSQL store with DBTRUST_STORE; every setting of
# 'dbtrust serve' has its DBTRUST_* variable (README: Serving).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/dbtrust ./cmd/dbtrust \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dbtrust /usr/local/bin/dbtrust
# The volume starts as this folder: owned by the non-root user, mode 0700.
COPY --from=build --chown=65532:65532 --chmod=0700 /out/data /data
USER 65532:65532
VOLUME /data
ENV DBTRUST_DATA=/data \
    DBTRUST_ADDR=0.0.0.0:8443 \
    DBTRUST_HTTPS=true \
    DBTRUST_LOG_FORMAT=json
EXPOSE 8443
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/dbtrust", "health", "--server", "https://127.0.0.1:8443", "--server-ca", "/data/tls/ca.pem"]
ENTRYPOINT ["/usr/local/bin/dbtrust"]
CMD ["serve"]
