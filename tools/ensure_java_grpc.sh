#!/bin/sh
# Make sure Debian's Java gRPC toolchain is installed, for clients/java/build.sh:
# a JDK (javac, jar), protoc and the grpc-java plugin, and the runtime jars
# under /usr/share/java (grpc-java with Netty, protobuf-java, guava, perfmark).
# libgrpc-java itself does not pull in Netty or perfmark, so they are named.
# Installed only when missing, and only where we may (root, or passwordless
# sudo); a developer machine without it skips the Java example test, CI
# (CI=true) fails it.
set -eu
JARS="grpc-api grpc-core grpc-netty grpc-protobuf grpc-stub protobuf guava perfmark-api
netty-codec-http2 error_prone_annotations jsr305 geronimo-annotation-1.3-spec"
present() {
    command -v javac >/dev/null 2>&1 && command -v jar >/dev/null 2>&1 \
        && command -v protoc >/dev/null 2>&1 && [ -x /usr/bin/grpc_java_plugin ] || return 1
    for name in $JARS; do
        [ -f "/usr/share/java/$name.jar" ] || return 1
    done
}
if present; then
    exit 0
fi
# A JDK only when none is there (the machine's Java 17 is used as is).
JDK=""
command -v javac >/dev/null 2>&1 || JDK="openjdk-17-jdk-headless"
# shellcheck disable=SC2086  # JDK is one word or none
sh "$(dirname "$0")/apt_install.sh" ensure_java_grpc $JDK protobuf-compiler \
    protobuf-compiler-grpc-java-plugin libgrpc-java libprotobuf-java libnetty-java \
    libperfmark-java libguava-java liberror-prone-java libjsr305-java \
    libgeronimo-annotation-1.3-spec-java || { rc=$?; [ "$rc" = 3 ] && exit 0; exit "$rc"; }
present || { echo "ensure_java_grpc: toolchain still incomplete after apt-get" >&2; exit 1; }
