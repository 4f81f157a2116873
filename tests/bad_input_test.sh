#!/usr/bin/env bash
# The bad-input suite: every case must end with a non-zero exit status, no
# signal, no C++ backtrace or uncaught exception, and a one-line message that
# names the culprit (file, key, option or value).
# usage: bad_input_test.sh PATH_TO_GSNN
set -uo pipefail
gsnn=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cases=0
failures=0

# bad PATTERN COMMAND...: the command fails cleanly and its output matches PATTERN.
bad() {
  local pattern=$1; shift
  cases=$((cases + 1))
  "$@" > out.txt 2>&1
  local rc=$?
  local why=""
  if [ "$rc" -eq 0 ]; then why="succeeded"
  elif [ "$rc" -ge 128 ]; then why="killed by signal $((rc - 128))"
  elif grep -q -e "frame #" -e "terminate called" -e "Exception raised from" out.txt; then
    why="backtrace or uncaught exception"
  elif ! grep -q -- "$pattern" out.txt; then why="no '$pattern' in the message"
  fi
  if [ -n "$why" ]; then
    failures=$((failures + 1))
    echo "FAIL ($why): $*"
    sed 's/^/    /' out.txt | head -5
  fi
}

fit() { "$gsnn" fit --steps 5 -q "$@"; }
printf 'x1,x2,y\n' > good.csv
for i in $(seq 30); do echo "$i,$((i % 7)),$((i * 2))" >> good.csv; done

# ---- CSV files --------------------------------------------------------------
bad "does not exist" fit --data nothere.csv --inputs x1 --target y --out m
: > empty.csv;                         bad "empty.csv: file is empty" fit --data empty.csv --inputs x1 --target y --out m
printf 'x1,y\n' > header.csv;          bad "no data rows" fit --data header.csv --inputs x1 --target y --out m
printf 'x1,y\n1,2\n3\n' > ragged.csv;  bad "ragged.csv:3: expected 2 columns" fit --data ragged.csv --inputs x1 --target y --out m
printf 'x1,y\n1,abc\n' > text.csv;     bad "column 'y': 'abc' is not a number" fit --data text.csv --inputs x1 --target y --out m
printf 'x1,y\n1,nan\n' > nan.csv;      bad "'nan' is not finite" fit --data nan.csv --inputs x1 --target y --out m
printf 'x1,y\n1,inf\n' > inf.csv;      bad "'inf' is not finite" fit --data inf.csv --inputs x1 --target y --out m
printf 'x1,y\n1,1e400\n' > big.csv;    bad "'1e400' is not finite" fit --data big.csv --inputs x1 --target y --out m
printf '"x1","y"\n"1",2\n' > openq.csv; sed -i 's/"1",2/"1,2/' openq.csv
bad "openq.csv:2: a quoted cell is not closed on its line" fit --data openq.csv --inputs x1 --target y --out m
printf 'x1,y\n1e308,1\n-1e308,2\n5,3\n' > huge.csv
bad "input column 'x1' (largest magnitude 1e+308): its mean, spread or scaled values are beyond float32's range" fit --data huge.csv --inputs x1 --target y --out m
printf 'x1,y\n1,1e39\n2,-1e39\n3,3\n' > f32.csv
bad "target column 'y' (largest magnitude 1e+39): .* are beyond float32's range; rescale it or train in float64" fit --data f32.csv --inputs x1 --target y --out m
printf 'x1,y\n1,1e-160\n2,3e-160\n3,2e-160\n' > tiny.csv
printf '[training]\nscaling = "none"\n' > none.toml
bad "target column 'y' (largest magnitude 3e-160): .* are beyond float32's range; rescale it or train in float64" fit --data tiny.csv --inputs x1 --target y --out m
bad "target column 'y' has values as small as 1e-160, which lose their digits in float32 once scaled" fit --data tiny.csv --inputs x1 --target y --config none.toml --out m
printf 'x1,y\n1,1e-40\n2,3e-40\n3,2e-40\n' > subnormal.csv   # float32 subnormals: digits lost
bad "target column 'y' has values as small as 1e-40, which lose their digits in float32" fit --data subnormal.csv --inputs x1 --target y --config none.toml --out m
printf 'x1,y\n"1"x,2\n' > afterq.csv;  bad "afterq.csv:2: text after the closing quote of cell '1'" fit --data afterq.csv --inputs x1 --target y --out m
printf 'x1,y\n1,0.1\0junk\n' > nul.csv; bad "'0.1\\\\x00junk' is not a number" fit --data nul.csv --inputs x1 --target y --out m
printf 'x1,y\n1,\n' > blank.csv;       bad "column 'y': '' is not a number" fit --data blank.csv --inputs x1 --target y --out m
printf 'x1,x1\n1,2\n' > dup.csv;       bad "column 'x1' appears twice" fit --data dup.csv --inputs x1 --target x1 --out m
printf 'x1,,y\n1,2,3\n' > noname.csv;  bad "column 2: empty header name" fit --data noname.csv --inputs x1 --target y --out m
bad "no column 'z'" fit --data good.csv --inputs x1,z --target y --out m
bad "column 'x1' is both an input and a target" fit --data good.csv --inputs x1 --target x1 --out m
bad "column 'x1' is named twice" fit --data good.csv --inputs x1,x1 --target y --out m
printf 'x1,y\n1,0.5\n2,0\n3,1\n4,0\n5,1\n' > fraction.csv
bad "class labels must be whole numbers" fit --data fraction.csv --inputs x1 --target y --kind classification --out m
printf 'x1,y\n1,-1\n2,0\n3,1\n4,0\n5,1\n' > negative.csv
bad "class labels must be whole numbers" fit --data negative.csv --inputs x1 --target y --kind classification --out m
bad "empty name in list" fit --data good.csv --inputs x1,,x2 --target y --out m

# ---- command-line options ---------------------------------------------------
bad "unknown command 'frobnicate'" "$gsnn" frobnicate
# Names from the command line are shown with control characters escaped, cut when long.
bad "unknown option '\\\\x1b\[31m'" fit --data good.csv --inputs x1 --target y -o $'\x1b[31m=1' --out m
if grep -q $'\x1b' out.txt; then failures=$((failures + 1)); echo "FAIL: a raw escape code in a message"; fi
long_key=$(printf 'k%.0s' $(seq 20000))
bad "(cut)" fit --data good.csv --inputs x1 --target y -o "$long_key=1" --out m
bad "option 'level' must be <= 4" "$gsnn" run function2d -o level=9 --out r -q
printf '[[pde]]\nname = "p"\ndomain = [[0, 1], [0, 1]]\nsource = "sin(x"\nboundary = "0"\n[[model]]\nfamily = "mlp"\n' > badexpr.toml
bad "key 'pde\[0\].source'.*at position" "$gsnn" run badexpr.toml --out r -q
printf '[[pde]]\nname = "p"\ndomain = "disc"\nsource = "1"\nboundary = "0"\n[[model]]\nfamily = "mlp"\n' > disc.toml
bad "only rectangles are supported" "$gsnn" run disc.toml --out r -q
bad "task smooth2d has no options" "$gsnn" run smooth2d -o level=2 --out r -q
bad "expected key=value" "$gsnn" run function2d -o level --out r -q
bad "option 'components' must be >= 1" fit --data good.csv --inputs x1 --target y --out m --model gmnm -o components=0
bad "parameters is more than the limit" fit --data good.csv --inputs x1 --target y --out m --model kan -o width=60000 -o grid=1000
bad "rank must be at most the input dimension" fit --data good.csv --inputs x1 --target y --out m --model gmnm -o rank=65536
bad "option 'order' must be <= 5" fit --data good.csv --inputs x1 --target y --out m --model kan -o order=16
bad "not in range" fit --data good.csv --inputs x1 --target y --out m --threads 100000
bad "seed" fit --data good.csv --inputs x1 --target y --out m --seed -1
bad "device 'foo' is not a device" fit --data good.csv --inputs x1 --target y --out m --device foo
bad "device 'cuda:7'" fit --data good.csv --inputs x1 --target y --out m --device cuda:7
bad "option 'lr' must be a finite number" fit --data good.csv --inputs x1 --target y --out m --lr inf
bad "option 'lr' must be >= " fit --data good.csv --inputs x1 --target y --out m --lr -1
bad "option 'steps' must be <= 1000000000" "$gsnn" fit -q --data good.csv --inputs x1 --target y --out m --steps 99999999999999999999
bad "'activation' is fixed to \"relu\" by the alias" fit --data good.csv --inputs x1 --target y --out m --model mlp-relu -o activation=tanh
bad "option 'width' must be <= 65536" fit --data good.csv --inputs x1 --target y --out m -o width=100000
bad "option 'depth' must be <= 1024" fit --data good.csv --inputs x1 --target y --out m -o depth=1099511627776
bad "parameters is more than the limit" fit --data good.csv --inputs x1 --target y --out m -o depth=1000 -o width=60000
bad "unknown option 'depht'" fit --data good.csv --inputs x1 --target y --out m -o depht=2
bad "expected key=value" fit --data good.csv --inputs x1 --target y --out m -o depth
bad "unknown loss 'mae'" fit --data good.csv --inputs x1 --target y --out m --loss mae
bad "loss 'cross_entropy' does not apply to regression" fit --data good.csv --inputs x1 --target y --out m --loss cross_entropy
printf '[training]\nclip_norm = 1.0\n' > clip.toml
bad "clip_norm does not apply to lbfgs" fit --data good.csv --inputs x1 --target y --out m --optimizer lbfgs --config clip.toml
mkdir -p notes && echo mine > notes/notes.txt
bad "refusing to replace a directory that holds other files" fit --data good.csv --inputs x1 --target y --out notes
grep -q mine notes/notes.txt || { echo "FAIL: notes.txt was touched"; failures=$((failures + 1)); }

# ---- model files ------------------------------------------------------------
fit --data good.csv --inputs x1,x2 --target y --out model > /dev/null || { echo "FAIL: good fit"; exit 1; }
predict() { "$gsnn" predict --data good.csv --out pred.csv -q --model "$@"; }
# edit_model DIR PYTHON: copy the good model to DIR and run PYTHON on `d` (model.json) and
# `t` (name -> numpy array); `rehash` keeps the checksum valid unless the code says otherwise.
edit_model() {
  rm -rf "$1"; cp -r model "$1"
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, struct, sys
import numpy as np
d_path, code = sys.argv[1], sys.argv[2]
desc = json.load(open(f"{d_path}/model.json"))
raw = open(f"{d_path}/weights.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
kinds = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
t = {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                      kinds[v["dtype"]]).reshape(v["shape"]).copy()
     for k, v in header.items() if k != "__metadata__"}
rehash = True
d = desc
exec(code)
names = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int64): "I64"}
out, offset, body = {}, 0, b""
for k, a in t.items():
    b = np.ascontiguousarray(a).tobytes()
    out[k] = {"dtype": names[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
    offset += len(b); body += b
h = json.dumps(out).encode(); h += b" " * ((8 - len(h) % 8) % 8)
data = struct.pack("<Q", len(h)) + h + body
open(f"{d_path}/weights.safetensors", "wb").write(data)
if rehash and isinstance(d, dict):
    x = 0xcbf29ce484222325
    for byte in data:
        x = ((x ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    d["weights_checksum"] = f"{x:016x}"
json.dump(d, open(f"{d_path}/model.json", "w"))
PY
}
bad "cannot open model description" predict "$work"
edit_model m1 'd = [1, 2]';                                   bad "m1/model.json: not a gsnn model description" predict m1
edit_model m2 'd["format_version"] = "2"';                    bad "\"format_version\" must be an integer" predict m2
edit_model m3 'd["format_version"] = 99';                     bad "format version 99 is not supported" predict m3
edit_model m4 'd["weights"] = "../model/weights.safetensors"'; bad "must name a file inside the model directory" predict m4
edit_model m5 'd["weights"] = "/dev/zero"';                   bad "must name a file inside the model directory" predict m5
edit_model m6 'rehash = False; d.pop("weights_checksum")';    bad "\"weights_checksum\" is missing" predict m6
edit_model m7 'rehash = False; d["weights_checksum"] = "0" * 16'; bad "checksum mismatch" predict m7
edit_model m8 'd["options"] = 5';                             bad "options must be a table" predict m8
edit_model m9 'd["dtype"] = "int64"';                         bad "\"dtype\" must be" predict m9
edit_model m10 'd["family"] = "transformer"';                 bad "unknown model 'transformer'" predict m10
edit_model m11 'd["kind"] = "sorting"';                       bad "unknown task kind 'sorting'" predict m11
edit_model m12 'd["input_shape"] = [-3]';                     bad "\"input_shape\" must hold positive sizes" predict m12
edit_model m13 'd["input_shape"] = [1 << 40]';                bad "\"input_shape\" must hold positive sizes" predict m13
edit_model m14 't["body.hidden0.tau_squared"] = -t["body.hidden0.tau_squared"] - 1'; bad "tau_squared' is negative" predict m14
edit_model m15 't["body.readout.linear.bias"][0] = np.nan';   bad "holds NaN or infinity" predict m15
edit_model m16 't["input_scale"] = t["input_scale"][:1]';     bad "'input_scale' has shape \[1\], the model needs \[2\]" predict m16
edit_model m17 't["noise_rho"] = t["noise_rho"].astype(np.int64)'; bad "'noise_rho' is Long, the model needs Float" predict m17
edit_model m18 't["extra"] = np.zeros(3, np.float32)';        bad "unexpected tensor 'extra'" predict m18
edit_model m19 't.pop("noise_rho")';                          bad "tensor 'noise_rho' is missing" predict m19
edit_model m20 't["input_scale"] = np.zeros_like(t["input_scale"])'; bad "the data scaling must be > 0" predict m20
edit_model m21 'd["outputs"] = []';                           bad "must not be empty" predict m21
cp -r model m22; head -c 20 model/weights.safetensors > m22/weights.safetensors
bad "header length past the end" predict m22
cp good.csv input.csv
bad "refusing to overwrite it" "$gsnn" predict --model model --data input.csv --out input.csv
bad "not a regular file; refusing to replace it" "$gsnn" predict --model model --data good.csv --out "$work"
printf 'a,b\n1,2\n' > other.csv
bad "no column 'x1'" "$gsnn" predict --model model --data other.csv --out p.csv
bad "input-std: 'z' is not an input" "$gsnn" predict --model model --data good.csv --out p.csv --input-std z=1

# ---- experiment files --------------------------------------------------------
run() { "$gsnn" run "$@" --out res -q; }
toml() { printf "$2" > "$1"; }
toml e1.toml 'name = "x"\ntasks = ["smooth2d"\n';                       bad "e1.toml:" run e1.toml
toml e2.toml 'colour = 1\ntasks = ["smooth2d"]\n[[model]]\nfamily = "gsnn"\n'; bad "key 'colour': unknown key" run e2.toml
toml e3.toml 'tasks = ["smooth3d"]\n[[model]]\nfamily = "gsnn"\n';        bad "unknown task 'smooth3d'" run e3.toml
toml e4.toml 'tasks = ["smooth2d"]\n[[model]]\nlabel = "a"\n';            bad "model\[0\].family': missing" run e4.toml
toml e5.toml 'tasks = ["smooth2d"]\n[[model]]\nfamily = "trans"\n';       bad "unknown model 'trans'" run e5.toml
toml e6.toml 'tasks = ["smooth2d"]\n[[model]]\nfamily = "gsnn"\n[model.options]\ndepth = "two"\n'; bad "option 'depth' must be an integer" run e6.toml
toml e7.toml 'tasks = ["smooth2d"]\n[training]\nlr = nan\n[[model]]\nfamily = "gsnn"\n'; bad "e7.toml:3: key 'training.lr'" run e7.toml
toml e8.toml 'tasks = ["smooth2d"]\nseeds = 0\n[[model]]\nfamily = "gsnn"\n'; bad "key 'seeds': must be between 1 and" run e8.toml
toml e9.toml 'tasks = ["smooth2d"]\nseeds = 1000000\n[[model]]\nfamily = "gsnn"\n'; bad "key 'seeds': must be between 1 and" run e9.toml
toml e10.toml 'tasks = ["smooth2d"]\n[[model]]\nfamily = "gsnn"\n[model.sweep]\ndepth = []\n'; bad "non-empty list" run e10.toml
toml e11.toml 'tasks = ["smooth2d"]\n[[model]]\nfamily = "gsnn"\n[model.sweep]\ndepth = [1,2,3,4,5,6,7,8,9,10]\nwidth = [1,2,3,4,5,6,7,8,9,10]\ntau = [0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0]\ntau_ratio = [0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0]\nresidual = [true, false]\n'; bad "more than 10000 combinations" run e11.toml
toml e12.toml 'tasks = ["smooth2d"]\n[[model]]\nfamily = "gsnn"\nlabel = ".."\n'; bad "'..' is not a valid name" run e12.toml
toml e13.toml '[[csv]]\nname = "a/b"\nfile = "good.csv"\ninputs = ["x1"]\ntargets = ["y"]\n[[model]]\nfamily = "gsnn"\n'; bad "csv\[0\].name': 'a/b' is not a valid name" run e13.toml
toml e14.toml 'output = "/tmp/elsewhere"\ntasks = ["smooth2d"]\n[[model]]\nfamily = "gsnn"\n'; bad "key 'output': must be a relative path" run e14.toml
toml e15.toml 'tasks = ["smooth2d"]\n[[model]]\nfamily = "gsnn"\n[[model]]\nfamily = "gsnn"\n'; bad "is used twice" run e15.toml
toml e16.toml 'tasks = ["smooth2d"]\n[training]\nloss = "mae"\n[[model]]\nfamily = "gsnn"\n'; bad "unknown loss 'mae'" run e16.toml
toml e17.toml '[[csv]]\nname = "c"\nfile = "good.csv"\ninputs = ["x1"]\ntargets = ["y"]\nkind = "sorting"\n[[model]]\nfamily = "gsnn"\n'; bad "unknown task kind 'sorting'" run e17.toml
toml e18.toml '[[csv]]\nname = "c"\nfile = "good.csv"\ninputs = ["x1"]\ntargets = ["y"]\nloss = "cross_entropy"\n[[model]]\nfamily = "gsnn"\n'; bad "does not apply to regression" run e18.toml
toml e19.toml 'tasks = ["smooth2d"]\n[training]\ngroup_lr = 3\n[[model]]\nfamily = "gsnn"\n'; bad "option 'group_lr' must be a table" run e19.toml
toml e20.toml 'tasks = ["smooth2d"]\n[training]\nfreeze = { weights = 2.5 }\n[[model]]\nfamily = "gsnn"\n'; bad "freeze takes whole numbers" run e20.toml
toml e21.toml 'tasks = ["smooth2d"]\nwhen = 1979-05-27\n[[model]]\nfamily = "gsnn"\n'; bad "dates and times are not supported" run e21.toml
toml e22.toml 'tasks = ["smooth2d"]\n[[model]]\nfamily = "gsnn"\n[model.options]\ndepth = 1099511627776\n'; bad "option 'depth' must be <= 1024" run e22.toml
toml e23.toml '[[csv]]\nname = "c"\nfile = "missing.csv"\ninputs = ["x1"]\ntargets = ["y"]\n[[model]]\nfamily = "gsnn"\n'; bad "missing.csv: cannot open file" run e23.toml
toml e24.toml 'tasks = ["smooth2d"]\n[training]\nfreeze = { gate = 5 }\nsteps = 5\n[[model]]\nfamily = "gsnn"\n'; bad "no parameter group 'gate'" run e24.toml
toml e26.toml '[[csv]]\nname = "big"\nfile = "huge.csv"\ninputs = ["x1"]\ntargets = ["y"]\ndtype = "float16"\n[[model]]\nfamily = "gsnn"\n'; bad "csv\[0\].dtype': must be \"float32\" or \"float64\"" run e26.toml
toml e25.toml '[[csv]]\nname = "big"\nfile = "huge.csv"\ninputs = ["x1"]\ntargets = ["y"]\n[training]\nsteps = 5\n[[model]]\nfamily = "gsnn"\n'; bad "task big, model gsnn: fit: input column 'x1' (largest magnitude 1e+308)" run e25.toml
bad "no such experiment file" run nothere.toml

# ---- results directories ------------------------------------------------------
"$gsnn" run noisy-sine --models mlp-relu --seeds 1 --steps 10 --out results -q > /dev/null
result=results/noisy-sine/mlp-relu/seed-0/result.json
edit_result() {  # DIR PYTHON: a copy of the results with result.json edited by PYTHON on `r`
  rm -rf "$1"; cp -r results "$1"
  /usr/bin/python3 - "$1/noisy-sine/mlp-relu/seed-0/result.json" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(r, open(sys.argv[1], "w"))
PY
}
report() { "$gsnn" report "$1" -o "$1-report"; }
mkdir -p noresults;                                   bad "no run results found" report noresults
cp -r results r1; echo '{ broken' > "r1/noisy-sine/mlp-relu/seed-0/result.json"; bad "result.json: not valid JSON" report r1
edit_result r2 'r["model_label"] = 7';                 bad "key 'model_label' must be a string" report r2
edit_result r3 'r["schema_version"] = 99';             bad "unsupported result schema version" report r3
edit_result r4 'r["curve"] = {"a": 1}';                bad "key 'curve' must be a list" report r4
edit_result r5 'r["domain"] = [[0]]';                  bad "key 'domain' must be a list of" report r5
edit_result r6 'r["metrics"]["test"] = 3';             bad "key 'metrics.test' must be a table" report r6
edit_result r7 'r["training"] = {}';                   bad "key 'training' must be a table with a string 'loss'" report r7
cp -r results r8; printf 'x\n1\n2\n' > r8/noisy-sine/train.csv; bad "train.csv: expected 2 columns" report r8

# Two runs on one results directory: the second is refused while the first holds the lock.
"$gsnn" run smooth2d --models gsnn --seeds 1 --steps 200000 --out locked -q > /dev/null 2>&1 &
first=$!
for _ in $(seq 100); do [ -e locked/.gsnn-lock ] && break; sleep 0.1; done
bad "another gsnn process is writing there" "$gsnn" run smooth2d --models gsnn --seeds 1 --steps 10 --out locked -q
kill "$first"; wait "$first" 2>/dev/null

# ---- found by a hostile-user pass: each case once lost data, hung or misled ------
check() {  # DESCRIPTION COMMAND...: a condition that must hold
  local what=$1; shift
  cases=$((cases + 1))
  if ! "$@"; then failures=$((failures + 1)); echo "FAIL: $what"; fi
}
echo victim > victim.txt; ln -s victim.txt pred.csv.tmp   # a planted temporary-file symlink
"$gsnn" predict --model model --data good.csv --out pred.csv -q
check "a planted NAME.tmp symlink is not followed" grep -qx victim victim.txt
check "the output is a regular file, not a symlink" test -f pred.csv -a ! -L pred.csv
mkdir -p ow/mydata && cp good.csv ow/mydata/train.csv
printf 'output = "."\n[[csv]]\nname = "mydata"\nfile = "mydata/train.csv"\ninputs = ["x1"]\ntargets = ["y"]\n[[model]]\nfamily = "mlp-relu"\n[training]\nsteps = 5\n' > ow/e.toml
bad "is the data file of task 'mydata'; refusing to overwrite it" bash -c "cd ow && '$gsnn' run e.toml -q"
check "run left its input CSV alone" cmp -s good.csv ow/mydata/train.csv
cp -r model own
bad "inside the model directory" "$gsnn" predict --model own --data good.csv --out own/model.json -q
mkdir fm.new && echo thesis > fm.new/thesis.tex
fit --data good.csv --inputs x1 --target y --out fm > /dev/null
check "fit keeps a user's DIR.new" grep -qx thesis fm.new/thesis.tex
fit --data good.csv --inputs x1 --target y --out fm/ > /dev/null
check "fit --out DIR/ saves the model, with no staging left inside" bash -c "[ -f fm/model.json ] && [ \$(ls -A fm | wc -l) -eq 2 ]"
cp -r model fifo_model; rm fifo_model/model.json; mkfifo fifo_model/model.json
bad "not a regular file" timeout 20 "$gsnn" predict --model fifo_model --data good.csv --out p.csv -q
echo notes > .tmp
bad "--out is empty" "$gsnn" predict --model model --data good.csv --out "" -q
check "an empty --out touches nothing" grep -qx notes .tmp
printf 'x1,x2\n0x10,1\n' > hex.csv;  bad "'0x10' is not a number" "$gsnn" predict --model model --data hex.csv --out p.csv -q
printf 'x1,x2\n1e-310,1\n' > sub.csv
check "a subnormal number is a number" "$gsnn" predict --model model --data sub.csv --out p.csv -q
bad "predictions are not finite for 30 of 30 rows (the first: data row 1 of good.csv" "$gsnn" predict --model model --data good.csv --out p.csv -q --input-std x1=1e200
bad "option 'lr' must be <=" fit --data good.csv --inputs x1 --target y --out m --lr 1e39
printf '[model]\nfamily = 5\n' > fam.toml
bad "family must be a string" fit --data good.csv --inputs x1 --target y --out m --config fam.toml
bad "not in range" "$gsnn" run noisy-sine --checkpoint-every 0 --out r0 -q
bad "cannot create the directory" "$gsnn" run noisy-sine --steps 5 --out good.csv/x -q
long=$(printf 'n%.0s' $(seq 300))
printf 'name = "%s"\ntasks = ["smooth2d"]\n[[model]]\nfamily = "gsnn"\n' "$long" > longname.toml
bad "1 to 100 bytes" "$gsnn" run longname.toml -q
bad "not in range" fit --data good.csv --inputs x1 --target y --out m --seed 99999999999999999999
# A damaged checkpoint is skipped with a warning, and the run completes.
"$gsnn" run noisy-sine --models gsnn --seeds 1 --steps 3000 --checkpoint-every 100 --out kd -q > /dev/null 2>&1 &
pid=$!
state=kd/noisy-sine/gsnn/seed-0/checkpoint/state.json
for _ in $(seq 300); do [ -f "$state" ] && break; sleep 0.1; done
kill -9 "$pid"; wait "$pid" 2>/dev/null
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['step']=-100000000; json.dump(d, open(sys.argv[1],'w'))" "$state"
timeout 120 "$gsnn" run noisy-sine --models gsnn --seeds 1 --steps 3000 --checkpoint-every 100 --out kd -q > kd.txt 2>&1
check "a damaged checkpoint is skipped and the run completes" bash -c "grep -q 'ignoring damaged checkpoint' kd.txt && [ -f kd/noisy-sine/gsnn/seed-0/result.json ]"
# Reports: runs of one label with different configurations are not averaged; figure names never collide.
"$gsnn" demo --steps 5 -q --out dd --tasks noisy-sine --models mlp-relu > /dev/null
"$gsnn" demo --steps 5 -q --out dd --tasks noisy-sine --models mlp-relu --width 8 --seed 1 > /dev/null
"$gsnn" report dd -o dd-report > /dev/null
check "different configurations are separate rows" grep -q "configuration 2 of 2" dd-report/index.html
printf 'name = "x y"\ntasks = ["noisy-sine"]\n[training]\nsteps = 5\n[[model]]\nfamily = "mlp-relu"\n' > xy1.toml
printf 'name = "x_y"\ntasks = ["noisy-sine"]\n[training]\nsteps = 5\n[[model]]\nfamily = "mlp-relu"\n' > xy2.toml
"$gsnn" run xy1.toml --out xy/a -q > /dev/null; "$gsnn" run xy2.toml --out xy/b -q > /dev/null
figures=$("$gsnn" report xy -o xy-report | sed -n 's/.*, \([0-9]*\) figures.*/\1/p')
check "every figure has its own file" [ "$(ls xy-report/*.png | wc -l)" -eq "$figures" ]

# Second pass: report figures, lock files and checkpoints from someone else.
"$gsnn" run noisy-sine --models mlp-relu --seeds 1 --steps 5 --out R -q > /dev/null
mkdir -p R/report && echo precious > precious.txt
ln -s "$work/precious.txt" R/report/s0_curves.png; ln -s "$work/precious.txt" R/report/s0_curves.0.dat
bad "not a regular file" "$gsnn" report R -o R/report
check "report figures never write through a planted symlink" grep -qx precious precious.txt
mkdir lk && ln -s "$work/created_elsewhere" lk/.gsnn-lock
bad "cannot open" "$gsnn" run noisy-sine --models mlp-relu --seeds 1 --steps 5 --out lk -q
check "a planted lock symlink creates nothing" test ! -e created_elsewhere
for damage in rng best step; do
  "$gsnn" run noisy-sine --models gsnn --seeds 1 --steps 3000 --checkpoint-every 100 --out "ck$damage" -q > /dev/null 2>&1 &
  pid=$!
  ckpt=ck$damage/noisy-sine/gsnn/seed-0/checkpoint
  for _ in $(seq 300); do [ -f "$ckpt/state.json" ] && break; sleep 0.1; done
  kill -9 "$pid"; wait "$pid" 2>/dev/null
  /usr/bin/python3 - "$ckpt" "$damage" <<'PY'
import json, struct, sys
ckpt, damage = sys.argv[1], sys.argv[2]
if damage == "rng":
    p = f"{ckpt}/state.safetensors"
    b = bytearray(open(p, "rb").read()); n = struct.unpack("<Q", b[:8])[0]
    o = json.loads(b[8:8 + n])["rng_state"]["data_offsets"]
    b[8 + n + o[0]:8 + n + o[1]] = b"\xff" * (o[1] - o[0]); open(p, "wb").write(b)
else:
    d = json.load(open(f"{ckpt}/state.json"))
    if damage == "best": d["best_validation"] = -1e308
    if damage == "step": d["step"] = 2999
    json.dump(d, open(f"{ckpt}/state.json", "w"))
PY
  timeout 120 "$gsnn" run noisy-sine --models gsnn --seeds 1 --steps 3000 --checkpoint-every 100 --out "ck$damage" -q > "ck$damage.txt" 2>&1
  check "checkpoint damage ($damage) is skipped and the run completes" bash -c "grep -q 'ignoring damaged checkpoint' ck$damage.txt && [ -f ck$damage/noisy-sine/gsnn/seed-0/result.json ]"
done
bad "rounds to 0 rows" fit --data good.csv --inputs x1 --target y --out m --validation 0.01
printf 'mean,x2,y\n' > named.csv; for i in $(seq 20); do echo "$i,$((i % 3)),$i" >> named.csv; done
fit --data named.csv --inputs mean,x2 --target y --out named_model > /dev/null
bad "would repeat an input column's name" "$gsnn" predict --model named_model --data named.csv --out p.csv -q

echo "bad-input suite: $cases cases, $failures failures"
[ "$failures" -eq 0 ]
