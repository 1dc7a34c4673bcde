#!/usr/bin/env bash
# `pnpm run test:image`: builds Loupe's images with buildah and runs the CPU one as Kubernetes runs
# it (read-only root, uid 1000, /tmp a tmpfs, /var/lib/loupe an empty volume, the keys file mounted,
# the models prepared by a first container as the init container does), then sends the demo's pages
# through the HTTP API and checks the annotations that come back. Exits non-zero on any failure.
# No registry is reachable here: the base is made from Debian packages (deploy/base-image.sh), and
# the CUDA flavour is built on that same base, which lacks the CUDA libraries; no GPU runs it here.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_BASE=${LOUPE_NODE_BASE:-localhost/loupe-node:20-bookworm}
CUDA_BASE=${LOUPE_CUDA_BASE:-$NODE_BASE}
IMAGE=localhost/loupe:0.1.0
CUDA_IMAGE=localhost/loupe:0.1.0-cuda
# runc, not crun (cgroups v1 here); these limits are the ones runc may set on this machine.
RUNTIME=(--runtime /usr/sbin/runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

started=$(date +%s.%N)
step_started=$started
elapsed() { printf '%.1f' "$(echo "$(date +%s.%N) - $1" | bc)"; }
step() { echo "== $1"; step_started=$(date +%s.%N); }
done_step() { echo "   ${1:-ok} ($(elapsed "$step_started") s)"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

work=$(mktemp -d)
name=loupe-image-test-$$
volume=loupe-image-test-$$
sample_pid=
cleanup() {
  podman rm -f --time 5 "$name" >/dev/null 2>&1 || true
  podman volume rm -f "$volume" >/dev/null 2>&1 || true
  [[ -z $sample_pid ]] || kill "$sample_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step "base image $NODE_BASE"
bash deploy/base-image.sh >"$work/base.log" 2>&1 || { tail -20 "$work/base.log"; fail "base image"; }
done_step "$(tail -1 "$work/base.log")"

# Both targets build from one copy of the sources (what git would check out, edits included), so
# they hold the same code even while the working tree changes.
step "sources"
mkdir "$work/context"
git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -c 2>/dev/null | tar -x -C "$work/context"
done_step "$(du -sh "$work/context" | cut -f1)"

build() {
  local flavor=$1 tag=$2
  step "build FLAVOR=$flavor -> $tag"
  # The host's certificate authorities go in as a build secret, for a registry behind a proxy.
  local secret=()
  [[ -z ${NODE_EXTRA_CA_CERTS:-} ]] || secret=(--secret "id=npm-ca,src=$NODE_EXTRA_CA_CERTS")
  buildah bud --isolation chroot --pull=never "${RUNTIME[@]}" --network=host "${secret[@]}" \
    --build-arg "FLAVOR=$flavor" --build-arg "NODE_BASE=$NODE_BASE" --build-arg "CUDA_BASE=$CUDA_BASE" \
    --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
    --layers -f "$work/context/deploy/Dockerfile" -t "$tag" "$work/context" >"$work/build-$flavor.log" 2>&1 \
    || { tail -30 "$work/build-$flavor.log"; fail "build FLAVOR=$flavor"; }
  done_step "$(podman image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1 / 1e6}')"
}
build cpu "$IMAGE"
build cuda "$CUDA_IMAGE"

step "cuda: onnxruntime's CUDA provider beside the binding, and what it still needs"
# What the CUDA provider links against and the base lacks must all be CUDA's own libraries, which
# the nvidia/cuda cuDNN runtime base supplies (and the GPU driver, libcuda).
missing=$(podman run --rm "${RUNTIME[@]}" --network=none --entrypoint sh "$CUDA_IMAGE" -c '
  so=$(find /app/node_modules -name libonnxruntime_providers_cuda.so -path "*onnxruntime-node/bin/napi-v6/linux/x64/*")
  [ -n "$so" ] || { echo "no provider" >&2; exit 1; }
  ldd "$so" | awk "/not found/ { print \$1 }"')
[[ -n $missing ]] || fail "ldd found every library: is the stand-in base really without CUDA?"
not_cuda=$(grep -Ev '^lib(cuda|cudart|cublas|cublasLt|cudnn|cufft|curand|cusparse|cusolver|nvrtc|nvJitLink|nvinfer)[^/]*\.so' <<<"$missing" || true)
[[ -z $not_cuda ]] || fail "the CUDA provider also lacks non-CUDA libraries: $not_cuda"
done_step "lacks only $(tr '\n' ' ' <<<"$missing")"

step "sample pages on loopback"
node --import tsx --conditions=loupe-source deploy/sample-collection.ts >"$work/sample.url" 2>"$work/sample.log" &
sample_pid=$!
for _ in $(seq 100); do [[ -s $work/sample.url ]] && break; sleep 0.2; done
manifest=$(head -1 "$work/sample.url")
[[ $manifest == http* ]] || { cat "$work/sample.log"; fail "sample server"; }
done_step "$manifest"

# As the manifests mount them: the keys file read-only, owned by the pod's group (fsGroup 1000).
step "keys file, made by the image (loupe keys create)"
mkdir -p "$work/keys"
chown 1000:1000 "$work/keys"
key=$(podman run --rm "${RUNTIME[@]}" --network=none --read-only --user 1000:1000 \
  -e LOUPE_KEYS_FILE=/etc/loupe/keys/keys.json -v "$work/keys:/etc/loupe/keys" \
  "$IMAGE" keys create --name image-test --role operator 2>"$work/keys.log") || { cat "$work/keys.log"; fail "keys create"; }
chmod 0440 "$work/keys/keys.json"
done_step

container_env=(-e LOUPE_KEYS_FILE=/etc/loupe/keys/keys.json -e LOUPE_LOG_LEVEL=info)
# An empty folder owned by the pod's user stands for the claim Kubernetes mounts.
mkdir -p "$work/data"
chown 1000:1000 "$work/data"
mounts=(--read-only --read-only-tmpfs=false --user 1000:1000 --tmpfs /tmp:rw,mode=1777
  -v "$work/data:/var/lib/loupe" -v "$work/keys:/etc/loupe/keys:ro")
prepared() { grep -Eo ': (prepared|checked) ' "$1" | sort | uniq -c | awk '{ printf "%s%s %s", sep, $1, $3; sep = ", " }'; }

step "models prepare on an empty volume (the init container on a fresh claim)"
podman run --rm "${RUNTIME[@]}" --network=none "${mounts[@]}" "${container_env[@]}" "$IMAGE" models prepare >"$work/prepare.log" 2>&1 \
  || { cat "$work/prepare.log"; fail "models prepare"; }
done_step "$(prepared "$work/prepare.log")"

# Docker and Podman copy the image's /var/lib/loupe into a new named volume: the pack made at build
# time is there, and prepare only checks it.
step "models prepare on a new named volume (docker run -v NAME:/var/lib/loupe)"
podman volume create "$volume" >/dev/null
podman run --rm "${RUNTIME[@]}" --network=none --read-only --user 1000:1000 -v "$volume:/var/lib/loupe" "$IMAGE" models prepare \
  >"$work/prepare-volume.log" 2>&1 || { cat "$work/prepare-volume.log"; fail "models prepare on a named volume"; }
grep -q ': prepared ' "$work/prepare-volume.log" && fail "the named volume did not start with the image's prepared pack"
done_step "$(prepared "$work/prepare-volume.log")"

step "serve on loopback, wait for /readyz"
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
api=http://127.0.0.1:$port
# Host networking so that the container reaches the sample server on loopback; LOUPE_FETCH_ALLOW
# lets it fetch from that private address (docs/security.md).
podman run -d --name "$name" "${RUNTIME[@]}" --network=host "${mounts[@]}" "${container_env[@]}" \
  -e LOUPE_HOST=127.0.0.1 -e "LOUPE_PORT=$port" -e "LOUPE_PUBLIC_URL=$api" -e LOUPE_FETCH_ALLOW=127.0.0.1 \
  "$IMAGE" >/dev/null
ready=
for _ in $(seq 600); do
  if [[ $(curl -s -o /dev/null -w '%{http_code}' "$api/readyz") == 200 ]]; then ready=1; break; fi
  [[ $(podman inspect --format '{{.State.Running}}' "$name") == true ]] || break
  sleep 0.5
done
[[ -n $ready ]] || { podman logs --tail 30 "$name"; fail "not ready"; }
done_step

auth=(-H "authorization: Bearer $key")
step "the demo's job through the HTTP API (pipeline text)"
job=$(curl -sf "${auth[@]}" -H 'content-type: application/json' -d "{\"manifest\": \"$manifest\"}" "$api/v1/jobs") \
  || { podman logs --tail 30 "$name"; fail "POST /v1/jobs"; }
id=$(node -p 'JSON.parse(process.argv[1]).id' "$job")
state=
for _ in $(seq 1200); do
  state=$(curl -sf "${auth[@]}" "$api/v1/jobs/$id" | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).state')
  [[ $state == done || $state == failed ]] && break
  sleep 0.5
done
[[ $state == done ]] || { curl -s "${auth[@]}" "$api/v1/jobs/$id"; echo; podman logs --tail 30 "$name"; fail "job $id ended $state"; }
done_step "job $id done"

step "annotations: the enriched manifest and the annotation query"
curl -sf "${auth[@]}" "$api/v1/jobs/$id/manifest" >"$work/enriched.json" || fail "GET /v1/jobs/$id/manifest"
curl -sf "${auth[@]}" "$api/v1/annotations?manifest=$(node -p 'encodeURIComponent(process.argv[1])' "$manifest")" >"$work/annotations.json" \
  || fail "GET /v1/annotations"
node - "$work/enriched.json" "$work/annotations.json" <<'JS' || fail "annotations"
// Every page's lines come back as text (supplementing, a TextualBody on a region of the canvas),
// and the catalogue note reads as written.
const fs = require('node:fs');
const [manifest, query] = process.argv.slice(2).map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
const problems = [];
const lines = manifest.items.map((canvas) => {
  const items = (canvas.annotations ?? []).flatMap((page) => (page.type === 'AnnotationPage' ? page.items : []));
  const text = items.filter((a) => a.motivation === 'supplementing' && [a.body].flat().some((b) => b.type === 'TextualBody' && b.value));
  if (text.length === 0) problems.push(`canvas ${canvas.id}: no text lines`);
  return text;
});
const note = lines[0].map((a) => [a.body].flat().find((b) => b.type === 'TextualBody').value).join(' ');
if (!/Catalogue of Manuscripts/.test(note)) problems.push(`catalogue note read as: ${note.slice(0, 120)}`);
if (query.type !== 'AnnotationPage' || query.items.length === 0) problems.push('GET /v1/annotations: no AnnotationPage items');
for (const p of problems) console.error(`   ${p}`);
if (problems.length > 0) process.exit(1);
console.log(`   ${manifest.items.length} canvases, ${lines.flat().length} text lines; the query answers ${query.items.length} annotations`);
JS
done_step

step "stop (SIGTERM)"
podman stop --time 40 "$name" >/dev/null
code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
[[ $code == 0 ]] || { podman logs --tail 20 "$name"; fail "exit code $code after SIGTERM"; }
done_step "exit 0"

echo "test:image passed in $(elapsed "$started") s"
