#!/usr/bin/env bash
# A real install, not an editable one: build the sdist and the wheel from it, install the wheel
# in a clean venv (its dependencies from the package index), then run every command from there,
# outside the checkout, and check that every data file of the package was installed.
#
# Usage: scripts/smoke_wheel.sh [PYTHON]   (PYTHON: one that has `build`, default .venv's)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
python=${1:-$repo/.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$SECONDS
step() { printf '== [%3ds] %s\n' $((SECONDS - start)) "$*"; }

step "build sdist and wheel"
"$python" -m build --outdir "$work/dist" "$repo" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log"; exit 1; }
wheel=$(ls "$work"/dist/*.whl)

step "install $(basename "$wheel") in a clean venv"
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile "$wheel"
bin=$work/venv/bin
cd "$work"  # nothing of the checkout on sys.path from here on

step "every data file of the checkout is in the installed package"
"$bin/python" - "$repo" <<'EOF'
import sys
from importlib import resources
from pathlib import Path

import mergetool
from mergetool._formats import formats_root, json_schema, json_schema_names, node_schema_text

repo = Path(sys.argv[1])
installed = Path(mergetool.__file__).parent
assert repo not in installed.parents, f"imported from the checkout: {installed}"
assert Path(str(formats_root())) == installed / "_schemas", formats_root()
missing = []
for source, target in ((repo / "mergetool", installed), (repo / "schemas", installed / "_schemas")):
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            if not (target / path.relative_to(source)).is_file():
                missing.append(str(path.relative_to(repo)))
assert not missing, f"not installed: {missing}"
for version in range(1, 10):
    assert node_schema_text(version).startswith(f"PRAGMA user_version = {version};")
assert len(json_schema_names()) >= 17 and all(json_schema(n)["$schema"] for n in json_schema_names())
kernel = resources.files("mergetool.post.backends").joinpath("scrypt_jane.cl").read_text()
assert "__kernel" in kernel
assert resources.files("mergetool.nodeapi.proto").joinpath("post.proto").is_file()
print(f"ok: {sum(1 for p in installed.rglob('*') if p.is_file())} files under {installed}")
EOF

step "every command's --help"
"$bin/mergetool" --help >/dev/null
"$bin/merge-nodes" --help >/dev/null
"$bin/python" - <<'EOF'
import subprocess
import sys
from pathlib import Path

import click

from mergetool.cli.main import cli

mergetool = str(Path(sys.executable).parent / "mergetool")
ctx = click.Context(cli)
for name in cli.list_commands(ctx):
    subprocess.run([mergetool, name, "--help"], check=True, stdout=subprocess.DEVNULL)
    command = cli.get_command(ctx, name)
    if isinstance(command, click.Group):
        for sub in command.list_commands(ctx):
            subprocess.run([mergetool, name, sub, "--help"], check=True, stdout=subprocess.DEVNULL)
print(f"ok: {', '.join(cli.list_commands(ctx))} and their subcommands")
EOF

step "inspect, a dry run, a merge with a schema upgrade, check"
"$bin/mergetool" inspect "$repo/fixtures/node-a" --json >inspect.json
"$bin/python" -c 'import json; d = json.load(open("inspect.json")); assert d["format"] == 1, d'
"$bin/merge-nodes" --from "$repo/fixtures/node-a" --to "$work/node" --dry-run >/dev/null
test ! -e "$work/node"
"$bin/merge-nodes" --from "$repo/fixtures/node-a" --to "$work/node" >/dev/null
"$bin/merge-nodes" --from "$repo/fixtures/node-v5" --to "$work/node" >/dev/null  # v5 -> v9
"$bin/mergetool" check "$work/node" >/dev/null

step "post init, prove and verify (--preset test)"
node_id=$(printf '11%.0s' {1..32})
atx=$(printf '22%.0s' {1..32})
challenge=$(printf '33%.0s' {1..32})
"$bin/mergetool" post init --dir "$work/post" --node-id "$node_id" --commitment-atx "$atx" \
    --num-units 2 --max-file-size 1024 --preset test --backend numpy >/dev/null 2>&1
"$bin/mergetool" post prove --dir "$work/post" --challenge "$challenge" --preset test \
    >proof.json 2>/dev/null
"$bin/mergetool" post verify --proof proof.json --node-id "$node_id" --commitment-atx "$atx" \
    --challenge "$challenge" --num-units 2 --preset test
"$bin/mergetool" post verify-data --dir "$work/post" --fraction 10 --preset test \
    --backend numpy >/dev/null 2>&1

step "the installed wheel works"
