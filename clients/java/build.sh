#!/bin/sh
# Generate Java stubs from proto/ and build the example with Debian's jars
# (tools/ensure_java_grpc.sh installs them): protoc's java_out, the grpc-java
# plugin, plain javac against /usr/share/java. No Maven, nothing downloaded.
#
#   sh clients/java/build.sh   -> prints the path of the example jar
#                                 (run it with `java -jar <path>`)
#
# Output lives in .tools/clients/java/<key>/, keyed by the proto files, the
# example, this script and the tool versions, so a warm run only hashes.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/clients/java"
JARS=/usr/share/java
PLUGIN=/usr/bin/grpc_java_plugin
for tool in protoc javac jar; do
    command -v "$tool" >/dev/null 2>&1 || { echo "build.sh: $tool missing (run tools/ensure_java_grpc.sh)" >&2; exit 3; }
done
[ -x "$PLUGIN" ] || { echo "build.sh: $PLUGIN missing (run tools/ensure_java_grpc.sh)" >&2; exit 3; }

# The runtime: grpc-java with its Netty transport, protobuf-java, and what they load.
RUNTIME="grpc-api grpc-context grpc-core grpc-netty grpc-protobuf grpc-protobuf-lite grpc-stub
protobuf guava perfmark-api error_prone_annotations jsr305
netty-buffer netty-codec netty-codec-http netty-codec-http2 netty-common netty-handler
netty-resolver netty-transport"
CP=""
for name in $RUNTIME; do
    [ -f "$JARS/$name.jar" ] || { echo "build.sh: $JARS/$name.jar missing (run tools/ensure_java_grpc.sh)" >&2; exit 3; }
    CP="$CP${CP:+:}$JARS/$name.jar"
done

KEY=$( (cd "$ROOT" && find proto/wasidecar clients/java/example -type f | LC_ALL=C sort | xargs sha256sum;
        sha256sum "$HERE/build.sh"; javac -version 2>&1; protoc --version; sha256sum "$PLUGIN") | sha256sum | cut -c1-16)
OUT="$ROOT/.tools/clients/java/$KEY"
if [ -f "$OUT/wa-example.jar" ]; then
    echo "$OUT/wa-example.jar"
    exit 0
fi

mkdir -p "$ROOT/.tools/clients"
WORK=$(mktemp -d "$ROOT/.tools/clients/java.tmp.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Move the finished build into place in one rename (a concurrent build that
# finished first wins; both are the same), then drop builds of older keys.
publish() {
    mkdir -p "$(dirname "$OUT")"
    mv -T "$WORK/out" "$OUT" 2>/dev/null || [ -e "$OUT/wa-example.jar" ]
    find "$ROOT/.tools/clients/java" -mindepth 1 -maxdepth 1 ! -name "$KEY" -exec rm -rf {} +
    echo "$OUT/wa-example.jar"
}
mkdir -p "$WORK/gen" "$WORK/classes"
protoc -I "$ROOT/proto" -I /usr/include \
    --java_out="$WORK/gen" \
    --plugin=protoc-gen-grpc-java="$PLUGIN" --grpc-java_out="$WORK/gen" \
    "$ROOT"/proto/wasidecar/v1/*.proto
find "$WORK/gen" "$HERE/example" -name '*.java' >"$WORK/sources"
# The grpc-java 1.41 plugin always writes @javax.annotation.Generated (source
# retention, gone from the JDK since 11): needed to compile only, not to run.
ANNOTATIONS="$JARS/geronimo-annotation-1.3-spec.jar"
[ -f "$ANNOTATIONS" ] || { echo "build.sh: $ANNOTATIONS missing (run tools/ensure_java_grpc.sh)" >&2; exit 3; }
# -nowarn: the generated code uses APIs this protobuf marks deprecated.
javac -nowarn -encoding UTF-8 --release 17 -cp "$CP:$ANNOTATIONS" -d "$WORK/classes" @"$WORK/sources"
# Class-Path entries are URLs relative to the jar; absolute paths name Debian's jars.
# Manifest lines are folded under 72 bytes; a continuation line starts with a space.
echo "Main-Class: io.wasidecar.example.Example" >"$WORK/manifest"
echo "Class-Path: $(echo "$CP" | tr ':' ' ')" | fold -w 70 | sed '2,$s/^/ /' >>"$WORK/manifest"
jar --create --file "$WORK/wa-example.jar" --manifest "$WORK/manifest" -C "$WORK/classes" .
mkdir -p "$WORK/out"
mv "$WORK/gen" "$WORK/out/gen"
mv "$WORK/wa-example.jar" "$WORK/out/wa-example.jar"
publish
