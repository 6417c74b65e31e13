#!/usr/bin/env bash
# Compile android-demo/core and its JUnit tests with kotlinc and run them with JUnitCore.
# Installs nothing: needs `kotlinc` (Debian: apt-get install kotlin) and JUnit 4 + hamcrest
# (Debian: apt-get install junit4). Override with KOTLINC, JUNIT_JAR, HAMCREST_JAR, KOTLIN_STDLIB;
# GOLDEN_DIR points GoldenTest at other golden vectors (default core/src/test/resources/golden).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
core="$root/android-demo/core"

die() { echo "android_core_test: $*" >&2; exit 2; }
first_file() { for f in "$@"; do [ -n "$f" ] && [ -f "$f" ] && { echo "$f"; return 0; }; done; return 1; }

kotlinc="${KOTLINC:-$(command -v kotlinc || true)}"
[ -n "$kotlinc" ] && [ -x "$kotlinc" ] || die "kotlinc not found: install it (Debian: apt-get install -y kotlin) or set KOTLINC"
command -v java >/dev/null || die "java not found: install a JDK (Debian: apt-get install -y default-jdk-headless)"
kotlin_home="$(cd "$(dirname "$(readlink -f "$kotlinc")")/.." && pwd)"
junit="$(first_file "${JUNIT_JAR:-}" /usr/share/java/junit4.jar /usr/share/java/junit.jar)" \
  || die "JUnit 4 jar not found: install it (Debian: apt-get install -y junit4) or set JUNIT_JAR"
hamcrest="$(first_file "${HAMCREST_JAR:-}" /usr/share/java/hamcrest-core.jar /usr/share/java/hamcrest.jar)" \
  || die "hamcrest jar not found (JUnit 4 needs it): apt-get install -y junit4, or set HAMCREST_JAR"
stdlib="$(first_file "${KOTLIN_STDLIB:-}" "$kotlin_home/lib/kotlin-stdlib.jar" /usr/share/java/kotlin-stdlib.jar)" \
  || die "kotlin-stdlib.jar not found next to $kotlinc: set KOTLIN_STDLIB"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "android_core_test: compiling $core with $("$kotlinc" -version 2>&1 | grep -o 'kotlinc-jvm [^ ]*')"
# JAVA_OPTS quiets the JVM warning Debian's kotlinc start script triggers on Java 13+.
rc=0
JAVA_OPTS="${JAVA_OPTS:-} -XX:-PrintWarnings" "$kotlinc" -nowarn -cp "$junit:$hamcrest" -d "$out/classes" \
  "$core/src/main/kotlin" "$core/src/test/kotlin" >"$out/kotlinc.log" 2>&1 || rc=$?
grep -v -e 'Xverify:none' "$out/kotlinc.log" >&2 || true
[ "$rc" -eq 0 ] || die "kotlinc failed (exit $rc): see the errors above"

classes=()
while IFS= read -r f; do
  pkg="$(sed -n 's/^package \([a-zA-Z0-9_.]*\).*/\1/p' "$f" | head -n1)"
  classes+=("${pkg:+$pkg.}$(basename "$f" .kt)")
done < <(find "$core/src/test/kotlin" -name '*Test.kt' | sort)

echo "android_core_test: running ${#classes[@]} test classes"
java -Dedgevision.golden="${GOLDEN_DIR:-$core/src/test/resources/golden}" \
  -cp "$out/classes:$junit:$hamcrest:$stdlib" org.junit.runner.JUnitCore "${classes[@]}"
