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

for cmd in fit predict demo tasks models run report; do
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
# classification from a CSV: class indices in the target column; predict writes probabilities
/usr/bin/python3 - <<'PY'
import random
random.seed(5)
with open("classes.csv", "w") as f:
    f.write("x1,x2,label\n")
    for i in range(150):
        c = i % 3
        f.write(f"{random.gauss([-2, 2, 0][c], 0.5)},{random.gauss([0, 0, 2][c], 0.5)},{c}\n")
PY
"$gsnn" fit --data classes.csv --inputs x1,x2 --target label --kind classification \
  --model mlp-relu --out m_class --steps 200 -q > class.txt
grep -q "accuracy" class.txt || fail "classification fit prints no accuracy: $(cat class.txt)"
grep -q '"kind": "classification"' m_class/model.json || fail "model kind not saved"
"$gsnn" predict --model m_class --data classes.csv --out class_pred.csv -q
head -1 class_pred.csv | grep -q "^x1,x2,class,p_0,p_1,p_2$" || fail "class header: $(head -1 class_pred.csv)"
cat > classes.toml <<'TOML'
name = "cls"
[[csv]]
name = "classes"
file = "classes.csv"
inputs = ["x1", "x2"]
targets = ["label"]
kind = "classification"
[training]
steps = 60
[[model]]
family = "mlp-relu"
TOML
"$gsnn" run classes.toml --out res_cls -q > /dev/null
"$gsnn" report res_cls -o rep_cls > /dev/null
grep -q "test accuracy" rep_cls/index.html || fail "classification report has no accuracy column"
printf 'x1,x2,label\n0,0,0.5\n1,1,1\n' > frac.csv
expect_error "class labels must be whole numbers" "$gsnn" fit --data frac.csv --inputs x1,x2 --target label --kind classification --out bad -q

# nothing lost: a failed fit keeps the good model at --out; predict never overwrites its input
printf 'x1,x2,y\n1,2,1e308\n2,1,-1e308\n3,3,1e308\n4,1,-1e308\n5,2,1e308\n6,3,0\n' > huge.csv
cp -r m_tanh m_keep
expect_error "target column 'y' (largest magnitude 1e+308)" "$gsnn" fit --data huge.csv --inputs x1,x2 --target y --out m_keep --steps 20 -q
cmp m_tanh/weights.safetensors m_keep/weights.safetensors || fail "failed fit replaced a good model"
cp train.csv input.csv
expect_error "refusing to overwrite" "$gsnn" predict --model m_tanh --data input.csv --out input.csv -q
cmp train.csv input.csv || fail "predict overwrote its input"
# no command runs from a path: the report directory name reaches no shell
"$gsnn" run noisy-sine --models mlp-relu --seeds 1 --steps 20 --out res_cmd -q > /dev/null
"$gsnn" report res_cmd -o 'rep$(touch pwned1)`touch pwned2`' > /dev/null
[ ! -e pwned1 ] && [ ! -e pwned2 ] || fail "gsnn report ran a command from its -o path"
ls 'rep$(touch pwned1)`touch pwned2`'/index.html > /dev/null || fail "report with an odd path"

# experiments: short form, skip on rerun, report
"$gsnn" run noisy-sine --models gsnn,mlp-relu --seeds 2 --steps 40 --out res -q > run.txt
grep -q "4 runs trained" run.txt || fail "run: $(cat run.txt)"
"$gsnn" run noisy-sine --models gsnn,mlp-relu --seeds 2 --steps 40 --out res -q > run.txt
grep -q "0 runs trained (0 resumed from a checkpoint), 4 already done" run.txt || fail "rerun: $(cat run.txt)"
"$gsnn" report res -o rep > report.txt
grep -q "report of 4 runs" report.txt || fail "report: $(cat report.txt)"
grep -q "<table>" rep/index.html || fail "report has no table"
for png in rep/*.png; do
  head -c 8 "$png" | od -An -tx1 | grep -q "89 50 4e 47 0d 0a 1a 0a" || fail "$png is not a PNG"
done
expect_error "unknown task" "$gsnn" run smooth3d --out res2 -q

# a task option from the command line; the new families through run, report and predict
"$gsnn" run function2d -o level=3 --models gmnm,kan,rbf --seeds 1 --steps 20 --out res_f2d -q > /dev/null
for m in gmnm kan rbf; do
  [ -f "res_f2d/function2d_level=3_/$m/seed-0/result.json" ] || fail "function2d level 3: no $m result"
done
"$gsnn" report res_f2d -o rep_f2d > /dev/null || fail "report of function2d"
printf 'x1,x2\n0.5,-1\n3,3\n' > f2d_points.csv
"$gsnn" predict --model "res_f2d/function2d_level=3_/gmnm/seed-0/model" --data f2d_points.csv \
  --out f2d_pred.csv -q || fail "predict with a gmnm model"
[ "$(wc -l < f2d_pred.csv)" -eq 3 ] || fail "gmnm predictions: $(cat f2d_pred.csv)"

# seed 004's models from the command line: an exact GP (ML-II) and a symmetrised
# length-scale network, saved and used for prediction; a GP is refused for classes
"$gsnn" fit --data train.csv --inputs x1,x2 --target y --model gp -o restarts=0 --out m_gp -q > /dev/null
"$gsnn" predict --model m_gp --data train.csv --out gp_pred.csv -q
[ "$(wc -l < gp_pred.csv)" -eq 121 ] || fail "gp predictions"
"$gsnn" fit --data train.csv --inputs x1,x2 --target y --model lengthscale-tanh -o inv_sigma=2 \
  -o symmetrise=true --steps 50 --out m_ls -q > /dev/null || fail "lengthscale-tanh fit"
printf 'x1,x2\n0.3,-0.7\n-0.7,0.3\n' > swapped.csv
"$gsnn" predict --model m_ls --data swapped.csv --out sym_pred.csv -q
/usr/bin/python3 -c "
import csv; r=list(csv.DictReader(open('sym_pred.csv')))
assert abs(float(r[0]['mean']) - float(r[1]['mean'])) < 1e-6, r" || fail "symmetrise: f(a,b) != f(b,a)"
printf 'x1,x2,c\n0,0,0\n1,1,1\n0,1,1\n1,0,0\n0.5,0.5,1\n' > cls_gp.csv
expect_error "fitted directly" "$gsnn" fit --data cls_gp.csv --inputs x1,x2 --target c \
  --kind classification --model gp --validation 0 --out bad -q

# seed 001's hybrid on a user's CSV: gated paths; two experts trained by the mixture
# NLL with gate penalties; predict writes the gate on request; bad penalties are named
"$gsnn" fit --data train.csv --inputs x1,x2 --target y --model hybrid -o combine=gate --steps 50 \
  --out m_hybrid -q > /dev/null || fail "hybrid combine=gate fit"
moe_config="$here/../examples/fit/hybrid-experts.toml"
"$gsnn" fit --data train.csv --inputs x1,x2 --target y --config "$moe_config" -o width=8 \
  --steps 50 --out m_moe -q > /dev/null || fail "hybrid experts with moe (the example config)"
"$gsnn" predict --model m_moe --data train.csv --out moe_pred.csv --gate -q
/usr/bin/python3 -c "
import csv; r=list(csv.DictReader(open('moe_pred.csv')))
assert len(r) == 120 and all(0 <= float(x['gate']) <= 1 for x in r), r[:2]" || fail "predict --gate"
expect_error "has no gate" "$gsnn" predict --model m_gsnn --data train.csv --out bad.csv --gate
printf '[training]\npenalty = {gate_entropy = 0.1}\n' > penalty.toml
expect_error "this model's penalties are: smoothness" "$gsnn" fit --data train.csv --inputs x1,x2 \
  --target y --model hybrid --config penalty.toml --out bad -q
expect_error "apply to the short form" "$gsnn" run "$here/../examples/experiments/hybrid-ablation.toml" \
  --steps 10 --out bad_run -q
printf '[training]\nloss = "huber"\nloss_options = {delat = 1}\n' > huber.toml
expect_error "unknown option 'delat'" "$gsnn" fit --data train.csv --inputs x1 --target y \
  --config huber.toml --out bad -q

# a user's PDE from an experiment file: run, report (solution and error maps), predict u
cat > pde.toml <<'TOML'
name = "pde"
[[pde]]
name = "membrane"
domain = [[0, 1], [0, 2]]
source = "1.25 * pi^2 * sin(pi * x) * sin(pi * y / 2)"
boundary = "0"
exact = "sin(pi * x) * sin(pi * y / 2)"
options = { interior = 200, boundary = 40, grid = 21 }
[training]
steps = 30
lbfgs_steps = 5
[[model]]
family = "gmnm"
options = { components = 16 }
TOML
"$gsnn" run pde.toml --out res_pde -q > /dev/null || fail "run of a user PDE"
/usr/bin/python3 -c "
import json; r = json.load(open('res_pde/membrane/gmnm/seed-0/result.json'))
assert [p['optimizer'] for p in r['phases']] == ['adam', 'lbfgs'], r['phases']
assert 'test_relative_l2' in r['curve'][-1]['parts'] and r['metrics']['test']['relative_l2'] > 0
" || fail "user PDE result"
"$gsnn" report res_pde -o rep_pde > /dev/null || fail "report of a user PDE"
ls rep_pde/s0_solution_m0.png rep_pde/s0_error_m0.png > /dev/null || fail "no solution/error map"
printf 'x,y\n0.5,1\n' > pde_points.csv
"$gsnn" predict --model res_pde/membrane/gmnm/seed-0/model --data pde_points.csv --out pde_u.csv -q
head -1 pde_u.csv | grep -q "^x,y,u$" || fail "pde predictions: $(cat pde_u.csv)"

# targets of scale 1e-160 in float64: scaled by their own spread (whose
# square underflows), predicted in their own units
/usr/bin/python3 -c "
import random
random.seed(2)
print('a,b,y')
for i in range(60):
    a, b = random.random(), random.random(); print(f'{a},{b},{(a + b) * 1e-160}')" > tiny.csv
"$gsnn" fit --data tiny.csv --inputs a,b --target y --steps 300 --dtype float64 --out m_tiny -q > /dev/null
"$gsnn" predict --model m_tiny --data tiny.csv --out tiny_pred.csv -q
/usr/bin/python3 -c "
import csv
rows = list(csv.DictReader(open('tiny_pred.csv')))
worst = max(abs(float(r['mean']) - (float(r['a']) + float(r['b'])) * 1e-160) for r in rows)
assert worst < 0.1e-160, worst" || fail "predictions of 1e-160 targets are not in their units"
# the same data as an experiment's [[csv]] task: float32 refuses it, dtype = "float64" trains
printf '[[csv]]\nname = "tiny"\nfile = "tiny.csv"\ninputs = ["a", "b"]\ntargets = ["y"]\n[training]\nsteps = 20\n[[model]]\nfamily = "mlp-tanh"\n' > tiny32.toml
expect_error "beyond float32's range" "$gsnn" run tiny32.toml --out res_tiny32 -q
sed 's/targets = \["y"\]/targets = ["y"]\ndtype = "float64"/' tiny32.toml > tiny64.toml
"$gsnn" run tiny64.toml --out res_tiny64 -q > /dev/null || fail "a float64 [[csv]] task does not run"
grep -q '"dtype": "float64"' res_tiny64/tiny/mlp-tanh/seed-0/model/model.json ||
  fail "the [[csv]] task's model is not float64"

# quoted cells, as R's write.csv writes them: a name may hold a comma, and
# predict quotes it again so that its output reads back
/usr/bin/python3 - <<'PY'
import csv
rows = list(csv.reader(open("train.csv")))
with open("quoted.csv", "w", newline="") as f:
    w = csv.writer(f, quoting=csv.QUOTE_ALL)
    w.writerow(["x1", "x 2,b", "y"])
    w.writerows(rows[1:])
PY
"$gsnn" fit --data quoted.csv --inputs 'x1,"x 2,b"' --target y --model mlp-tanh --steps 20 \
  --out m_quoted -q > /dev/null
"$gsnn" predict --model m_quoted --data quoted.csv --out quoted_pred.csv -q
head -1 quoted_pred.csv | grep -qx 'x1,"x 2,b",mean,std' || fail "quoted names: $(head -1 quoted_pred.csv)"
"$gsnn" predict --model m_quoted --data quoted_pred.csv --out quoted_again.csv -q
cmp quoted_pred.csv quoted_again.csv > /dev/null || fail "predictions of a predict output differ"

# image and sequence models through run and predict: a CNN's classes and an
# autoencoder's pixels for the images of an IDX file, an LSTM's forecast for
# sequences given as CSV columns x<feature>_<step>
split=(-o train=64 -o validation=16 -o test=16)
"$gsnn" run fashion-mnist "${split[@]}" -o robustness_points=0 --models cnn --seeds 1 --steps 2 \
  --out res_img -q > /dev/null
"$gsnn" run fashion-reconstruction "${split[@]}" --models autoencoder --seeds 1 --steps 2 \
  --out res_img -q > /dev/null
"$gsnn" run four-signals -o samples=200 --models lstm --seeds 1 --steps 2 --out res_seq -q > /dev/null
/usr/bin/python3 - <<'PY'
import gzip, struct
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    f.read(16)
    pixels = f.read(3 * 784)
with gzip.open("three.idx.gz", "wb") as f:
    f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, 3, 28, 28) + pixels)
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    f.read(16)
    pixels = f.read(1400 * 784)
with open("many.idx", "wb") as f:  # more images than predict takes in one chunk
    f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, 1400, 28, 28) + pixels)
with open("middle.idx", "wb") as f:  # images 1337-1339 of them
    f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, 3, 28, 28) + pixels[1336 * 784:1339 * 784])
with open("small.idx", "wb") as f:
    f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, 2, 20, 20) + bytes(800))
with open("sequences.csv", "w") as f:
    f.write(",".join(f"x{i}_{s}" for s in range(10) for i in range(1, 5)) + "\n")
    for row in range(2):
        f.write(",".join(str(0.1 * (row + s) + 0.01 * i) for s in range(10) for i in range(1, 5)) + "\n")
PY
model_of() { find "$1" -path "*/$2/seed-0/model" -type d; }
cnn=$(model_of res_img cnn); ae=$(model_of res_img autoencoder); lstm=$(model_of res_seq lstm)
"$gsnn" predict --model "$cnn" --data three.idx.gz --out cnn_pred.csv -q
head -1 cnn_pred.csv | grep -q "^image,class,p_top,p_trouser," || fail "cnn predictions: $(head -1 cnn_pred.csv)"
[ "$(wc -l < cnn_pred.csv)" -eq 4 ] || fail "cnn prediction rows"
"$gsnn" predict --model "$cnn" --data many.idx --out many_pred.csv -q
"$gsnn" predict --model "$cnn" --data middle.idx --out middle_pred.csv -q
/usr/bin/python3 -c "
import csv
many = list(csv.reader(open('many_pred.csv')))[1337:1340]
alone = list(csv.reader(open('middle_pred.csv')))[1:]
for a, b in zip(many, alone):  # float32 sums may differ in the last digits between batch sizes
    assert all(abs(float(x) - float(y)) < 1e-6 for x, y in zip(a[1:], b[1:])), (a, b)" ||
  fail "predictions across a chunk boundary differ from the same images alone"
[ "$(tail -1 many_pred.csv | cut -d, -f1)" = 1400 ] || fail "many images: $(tail -1 many_pred.csv | cut -c1-40)"
"$gsnn" predict --model "$ae" --data three.idx.gz --out ae_pred.csv -q
/usr/bin/python3 -c "
import csv; r = list(csv.reader(open('ae_pred.csv')))
assert len(r) == 4 and len(r[0]) == 1 + 2 * 784 and r[0][:3] == ['image', 'r0c0_mean', 'r0c0_std'], r[0][:3]
assert [row[0] for row in r[1:]] == ['1', '2', '3']" || fail "autoencoder predictions"
expect_error "holds images \[2, 1, 20, 20\], the model takes \[n, 1, 28, 28\]" \
  "$gsnn" predict --model "$ae" --data small.idx --out p.csv
expect_error "a model of images \[1, 28, 28\] reads an IDX file" \
  "$gsnn" predict --model "$cnn" --data train.csv --out p.csv
"$gsnn" predict --model "$lstm" --data sequences.csv --out lstm_pred.csv -q
head -1 lstm_pred.csv | grep -q "^x1_0,x2_0,.*,x4_9,mean,std$" || fail "lstm predictions: $(head -1 lstm_pred.csv)"
[ "$(wc -l < lstm_pred.csv)" -eq 3 ] || fail "lstm prediction rows"
expect_error "applies to models of table inputs" \
  "$gsnn" predict --model "$lstm" --data sequences.csv --out p.csv --input-std x1_0=0.1
expect_error "binary data where a CSV header should be" \
  "$gsnn" predict --model m_tanh --data small.idx --out p.csv

# kill a run midway, rerun: the finished seed is untouched, the killed one
# resumes from its checkpoint and ends exactly as an uninterrupted run.
run_args=(smooth2d --models gsnn --seeds 2 --steps 1500 --checkpoint-every 100 -q)
"$gsnn" run "${run_args[@]}" --out killed > /dev/null 2>&1 &
pid=$!
ckpt=killed/smooth2d/gsnn/seed-1/checkpoint/state.json
for _ in $(seq 600); do [ -f "$ckpt" ] && break; sleep 0.1; done
[ -f "$ckpt" ] || fail "no checkpoint appeared"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
[ ! -f killed/smooth2d/gsnn/seed-1/result.json ] || fail "killed run finished before the kill"
before=$(sha256sum killed/smooth2d/gsnn/seed-0/result.json)
"$gsnn" run "${run_args[@]}" --out killed > rerun.txt
grep -q "1 runs trained (1 resumed" rerun.txt || fail "no resume: $(cat rerun.txt)"
[ "$before" = "$(sha256sum killed/smooth2d/gsnn/seed-0/result.json)" ] || fail "finished seed changed"
"$gsnn" run "${run_args[@]}" --out clean > /dev/null
/usr/bin/python3 - <<'PY' || fail "resumed run differs from an uninterrupted one"
import json
a = json.load(open("killed/smooth2d/gsnn/seed-1/result.json"))
b = json.load(open("clean/smooth2d/gsnn/seed-1/result.json"))
assert a["resumed"] and not b["resumed"]
assert a["metrics"] == b["metrics"], (a["metrics"]["test"]["mse"], b["metrics"]["test"]["mse"])
PY
echo "cli test: all checks passed"
