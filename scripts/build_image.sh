#!/usr/bin/env bash
# Builds the container image (Dockerfile) with Debian's buildah, without any registry: the base is
# a Debian bookworm root made by debootstrap from Debian's packages (python3, python3-venv,
# ca-certificates), committed as a local image and passed as the Dockerfile's BASE. Then checks
# the image: its configuration (numeric non-root user, exec-form entrypoint, production mode),
# that every module of the wheel imports in it as that user, that no seeds or development keys
# are in it, and that the development STS refuses to start there. Then the `dev` target (the same
# layers plus seeds/, tagged TAG-dev): in development mode the STS loads its seeded clients,
# people and keys there as that user.
#
# Needs root and the Debian packages buildah and debootstrap (.ci/run installs them).
# Usage: scripts/build_image.sh [TAG]   (default localhost/samhandling:ci, the dev image TAG-dev; KEEP_IMAGE=1 keeps the
# storage under IMAGE_WORK, default a temporary directory, for `buildah push` or inspection;
# IMAGE_STORAGE_DRIVER=vfs where overlay mounts are not allowed)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tag="${1:-localhost/samhandling:ci}"
work="${IMAGE_WORK:-$(mktemp -d /var/tmp/samhandling-image.XXXXXX)}"
# overlay where the kernel allows it (it does here, as root); vfs copies every layer but works anywhere.
driver="${IMAGE_STORAGE_DRIVER:-overlay}"
b=(buildah --root "$work/storage" --runroot "$work/run" --storage-driver "$driver")
cleanup() {
  [[ ${KEEP_IMAGE:-0} == 1 ]] && { echo "image storage kept in $work"; return; }
  "${b[@]}" rm --all >/dev/null 2>&1 || true
  "${b[@]}" rmi --all --force >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { echo "::: image: $* ($(date -u +%T))"; }

step "debootstrap a Debian bookworm base"
base=$("${b[@]}" from scratch)
root=$("${b[@]}" mount "$base")
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
"${b[@]}" umount "$base" >/dev/null
"${b[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$base"
"${b[@]}" commit --quiet --rm "$base" localhost/samhandling-base:bookworm >/dev/null

# pip in the build trusts what this machine trusts (a TLS-intercepting proxy's CA, if there is one).
ca="${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}"
ca_args=()
[[ -f $ca ]] && ca_args=(--volume "$(dirname "$ca"):/run/build-ca:ro" --build-arg "PIP_CERT=/run/build-ca/$(basename "$ca")")

step "buildah build $tag"
build=("${b[@]}" build --quiet --layers --isolation chroot --network host "${ca_args[@]}"
       --build-arg BASE=localhost/samhandling-base:bookworm)
"${build[@]}" --tag "$tag" "$repo" >/dev/null

step "check $tag"
"${b[@]}" inspect --type image "$tag" >"$work/inspect.json"
python3 - "$work/inspect.json" <<'EOF'
import json, sys
config = json.load(open(sys.argv[1]))["OCIv1"]["config"]
env = dict(e.split("=", 1) for e in config["Env"])
problems = []
if config.get("User") != "10001:10001":
    problems.append(f"user {config.get('User')!r}, not the numeric non-root 10001:10001")
if config.get("Entrypoint") != ["/opt/samhandling/bin/samhandling"] or config.get("Cmd") != ["serve", "gateway"]:
    problems.append(f"entrypoint {config.get('Entrypoint')} {config.get('Cmd')}")
for name, value in (("SAMHANDLING_ENV", "production"), ("PYTHONDONTWRITEBYTECODE", "1"),
                    ("SAMHANDLING_VAR_DIR", "/tmp/samhandling")):
    if env.get(name) != value:
        problems.append(f"{name}={env.get(name)!r}, not {value!r}")
if problems:
    sys.exit("image configuration: " + "; ".join(problems))
EOF
ctr=$("${b[@]}" from "$tag")
in_image() { "${b[@]}" run --isolation chroot --user 10001:10001 "$ctr" -- "$@"; }
in_image /opt/samhandling/bin/python -c '
import importlib, pathlib, pkgutil, sys, sysconfig
for top in ("samhandling", "services", "gateway"):
    package = importlib.import_module(top)
    for module in pkgutil.walk_packages(package.__path__, top + "."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
site = pathlib.Path(sysconfig.get_paths()["purelib"])
found = [str(p) for p in site.rglob("*") if "dev-only" in p.name or p.name == "seeds"]
sys.exit(f"development files in the image: {found}" if found else 0)
'
refusal=$(in_image /opt/samhandling/bin/samhandling serve sts 2>&1) && { echo "the dev STS started in the image" >&2; exit 1; }
[[ $refusal == *"the development STS refuses to run in production mode"* ]] \
  || { echo "unexpected answer of the dev STS in the image: $refusal" >&2; exit 1; }
"${b[@]}" rm "$ctr" >/dev/null

step "buildah build $tag-dev (--target dev)"
"${build[@]}" --target dev --tag "$tag-dev" "$repo" >/dev/null
ctr=$("${b[@]}" from "$tag-dev")
in_image /opt/samhandling/bin/python -c '
from services.platform.settings import Settings
from services.sts.config import StsConfig
from services.sts.main import StsServer
settings = Settings.from_env()
assert settings.env == "dev" and str(settings.seeds_dir) == "/opt/samhandling/seeds", settings
StsServer(StsConfig.from_settings(settings))  # loads the seeded clients, people and keys
'
"${b[@]}" rm "$ctr" >/dev/null
"${b[@]}" images --format '{{.Name}}:{{.Tag}} {{.Size}}'
step "ok"
