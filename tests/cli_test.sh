#!/usr/bin/env bash
# End-to-end test of the gsnn command: fit, predict, errors and --help, and
# reading the saved model with numpy alone (tests/python/read_model.py).
# usage: cli_test.sh PATH_TO_GSNN
set -euo pipefail
gsnn=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() { echo "FAIL: $*"; exit 1; }

/usr/bin/python3 - <<'PY'
import math, random
random.seed(4)
with open("train.csv", "w") as f:
    f.write("x1,x2,y\n")
    for _ in range(120):
        a, b = random.uniform(-1, 1), random.uniform(-1, 1)
        f.write(f"{a},{b},{math.sin(math.pi*a)*math.sin(math.pi*b)}\n")
PY

for cmd in fit predict demo tasks models; do
  "$gsnn" "$cmd" --help > help.txt || fail "$cmd --help"
  grep -q "Usage" help.txt || fail "$cmd --help has no usage"
done
grep -q -- "--steps" <("$gsnn" fit --help) || fail "fit --help misses --steps"

"$gsnn" fit --data train.csv --inputs x1,x2 --target y --model mlp-tanh --out m_tanh \
  --steps 200 -q > fit.txt
grep -q "validation" fit.txt || fail "fit prints no validation metrics"
"$gsnn" predict --model m_tanh --data train.csv --out pred.csv -q
head -1 pred.csv | grep -q "^x1,x2,mean,std$" || fail "predict header: $(head -1 pred.csv)"
[ "$(wc -l < pred.csv)" -eq 121 ] || fail "predict row count"
/usr/bin/python3 "$here/python/read_model.py" m_tanh pred.csv

cat > cfg.toml <<'TOML'
[model]
family = "gsnn"
depth = 1
width = 8
[training]
steps = 50
lr = 0.02
TOML
"$gsnn" fit --data train.csv --inputs x1,x2 --target y --config cfg.toml -o tau=0.2 --out m_gsnn -q
grep -q '"tau": 0.2' m_gsnn/model.json || fail "option from the command line not applied"
grep -q '"steps": 50' m_gsnn/model.json || fail "config [training] not applied"
/usr/bin/python3 "$here/python/read_model.py" m_gsnn pred.csv

# errors: non-zero exit and a message that names the problem
expect_error() {  # pattern, command...
  local pattern=$1; shift
  if "$@" > out.txt 2>&1; then fail "expected failure: $*"; fi
  grep -q -- "$pattern" out.txt || fail "message '$pattern' missing in: $(cat out.txt)"
}
expect_error "no column 'z'" "$gsnn" fit --data train.csv --inputs x1,z --target y --out bad -q
expect_error "unknown model" "$gsnn" fit --data train.csv --inputs x1 --target y --model foo --out bad -q
expect_error "unknown option 'depht'" "$gsnn" fit --data train.csv --inputs x1 --target y -o depht=2 --out bad -q
expect_error "must be >= 1" "$gsnn" fit --data train.csv --inputs x1 --target y --steps -3 --out bad -q
printf '[training]\nsteps = "many"\n' > bad.toml
expect_error "must be an integer" "$gsnn" fit --data train.csv --inputs x1 --target y --config bad.toml --out bad -q
expect_error "cannot open model description" "$gsnn" predict --model . --data train.csv --out p.csv
echo "cli test: all checks passed"
