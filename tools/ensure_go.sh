#!/bin/sh
# Make sure Debian's Go gRPC toolchain is installed, for clients/go/build.sh:
# the Go compiler, protoc with the well-known .proto files, protoc-gen-go
# (golang/protobuf 1.3), protoc-gen-go-grpc, and grpc-go's sources under
# /usr/share/gocode (built in GOPATH mode: no module downloads). Installed
# only when missing, and only where we may (root, or passwordless sudo); a
# developer machine without it skips the Go example test, CI (CI=true) fails it.
set -eu
present() {
    command -v go >/dev/null 2>&1 && command -v protoc >/dev/null 2>&1 \
        && command -v protoc-gen-go >/dev/null 2>&1 && command -v protoc-gen-go-grpc >/dev/null 2>&1 \
        && [ -f /usr/include/google/protobuf/duration.proto ] \
        && [ -d /usr/share/gocode/src/google.golang.org/grpc ] \
        && [ -d /usr/share/gocode/src/github.com/golang/protobuf/ptypes/duration ]
}
if present; then
    exit 0
fi
sh "$(dirname "$0")/apt_install.sh" ensure_go golang-go golang-google-grpc-dev golang-goprotobuf-dev \
    protoc-gen-go-grpc protobuf-compiler libprotobuf-dev || { rc=$?; [ "$rc" = 3 ] && exit 0; exit "$rc"; }
present || { echo "ensure_go: toolchain still incomplete after apt-get" >&2; exit 1; }
