#!/usr/bin/env bash
# Side by side with APKeep on the Stanford update trace: runs APKeep (one
# cold JVM per run, through its own command line, as its authors publish)
# and preflight's replay benchmark alternately, RUNS times each, and prints
# both per-update averages. APKeep is not part of this repository: build it
# first from its public source (XJTU-NetVerify/apkeep with the JDD BDD
# library; javac is enough) into APKEEP_DIR, with classes in
# APKEEP_DIR/out and its networks/stanford{,-noacl} folders pointing at the
# dataset (../shared/datasets/stanford). Needs a JDK and jline3 (Debian
# packages openjdk-17-jdk-headless and libjline3-java).
#
# Usage: APKEEP_DIR=/path/to/apkeep bench/apkeep.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
dir=${APKEEP_DIR:?set APKEEP_DIR to a built APKeep (see the comment at the top)}
jline=/usr/share/java/jline3.jar
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go test -c -o "$work/dataplane.test" ./dataplane
for i in $(seq "$runs"); do
  for net in stanford stanford-noacl; do
    avg=$(cd "$dir" && printf 'init networks/%s\nupdate\nexit\n' "$net" |
      java -cp "out:$jline" apkeep.main.Main 2>/dev/null |
      grep -a -o 'Average update time: [0-9.]*' | head -1 | awk '{print $4}')
    echo "run $i  apkeep     $net  ${avg} us/update"
  done
  (cd dataplane && "$work/dataplane.test" -test.run XXX -test.bench StanfordReplay -test.benchtime 1x) |
    awk -v i="$i" '/ns\/update/ {for (f = 1; f <= NF; f++) if ($(f+1) == "ns/update") printf "run %s  preflight  %s  %.1f us/update\n", i, $1, $f / 1000}'
done
