#!/bin/sh
# Generate Go stubs from proto/ and build the example with Debian's toolchain
# (tools/ensure_go.sh installs it). Nothing is downloaded: GOPATH mode over
# /usr/share/gocode, where Debian keeps grpc-go and golang/protobuf sources.
#
#   sh clients/go/build.sh   -> prints the path of the example binary
#
# Output lives in .tools/clients/go/<key>/, keyed by the proto files, the
# example, this script and the tool versions, so a warm run only hashes.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/clients/go"
for tool in go protoc protoc-gen-go protoc-gen-go-grpc; do
    command -v "$tool" >/dev/null 2>&1 || { echo "build.sh: $tool missing (run tools/ensure_go.sh)" >&2; exit 3; }
done

KEY=$( (cd "$ROOT" && find proto/wasidecar clients/go/example -type f | LC_ALL=C sort | xargs sha256sum;
        sha256sum "$HERE/build.sh"; go version; protoc --version) | sha256sum | cut -c1-16)
OUT="$ROOT/.tools/clients/go/$KEY"
if [ -x "$OUT/wa-example" ]; then
    echo "$OUT/wa-example"
    exit 0
fi

mkdir -p "$ROOT/.tools/clients"
WORK=$(mktemp -d "$ROOT/.tools/clients/go.tmp.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Move the finished build into place in one rename (a concurrent build that
# finished first wins; both are the same), then drop builds of older keys.
publish() {
    mkdir -p "$(dirname "$OUT")"
    mv -T "$WORK/out" "$OUT" 2>/dev/null || [ -e "$OUT/wa-example" ]
    find "$ROOT/.tools/clients/go" -mindepth 1 -maxdepth 1 ! -name "$KEY" -exec rm -rf {} +
    echo "$OUT/wa-example"
}
mkdir -p "$WORK/gopath/src"
# go_package in the proto names the import path; paths=import places the files under it.
# Debian's protoc-gen-go is golang/protobuf 1.3 (API v1): its well-known types
# live in ptypes/, not in google.golang.org/protobuf (the M options say so).
WKT="Mgoogle/protobuf/duration.proto=github.com/golang/protobuf/ptypes/duration"
WKT="$WKT,Mgoogle/protobuf/timestamp.proto=github.com/golang/protobuf/ptypes/timestamp"
protoc -I "$ROOT/proto" -I /usr/include \
    --go_out="$WKT:$WORK/gopath/src" --go-grpc_out="$WORK/gopath/src" \
    "$ROOT"/proto/wasidecar/v1/*.proto
cp -r "$HERE/example" "$WORK/example"
(
    cd "$WORK/example"
    GO111MODULE=off GOFLAGS= GOPROXY=off \
    GOPATH="$WORK/gopath:/usr/share/gocode" \
    GOCACHE="$ROOT/.tools/clients/go-build-cache" \
    go build -o "$WORK/wa-example" .
)
mkdir -p "$WORK/out"
mv "$WORK/gopath/src/github.com/wa-policy-sidecar/wa-policy-sidecar/gen" "$WORK/out/gen"
mv "$WORK/wa-example" "$WORK/out/wa-example"
publish
