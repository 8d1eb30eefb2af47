#!/bin/bash
# scripts/install-deps.sh as a fresh machine sees it, with dpkg-query,
# apt-get, id and sudo replaced by stubs that log what they were asked:
# nothing is installed for real. Checks that it installs only what is
# missing, refreshes the package lists first, never asks a question (apt
# sees DEBIAN_FRONTEND=noninteractive, also through sudo, which resets the
# environment), and says what to do when it cannot become root.
#
#   tests/unit/check_install_deps.sh SCRIPT
set -u
SCRIPT=$1
T=$(mktemp -d /tmp/ust-deps.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# A PATH of stubs and the few real tools the script uses, nothing else
# (so a real sudo or apt-get on this machine is never reached).
mkdir -p "$T/bin"
for c in env grep; do
	ln -s "$(command -v $c)" "$T/bin/$c"
done
cat >"$T/bin/dpkg-query" <<'EOF'
#!/bin/bash
# Installed: the packages listed in $STUB_DIR/installed.
p=${*: -1}
if grep -qx "$p" "$STUB_DIR/installed"; then
	printf 'install ok installed'
else
	echo "dpkg-query: no packages found matching $p" >&2
	exit 1
fi
EOF
cat >"$T/bin/apt-get" <<'EOF'
#!/bin/bash
echo "uid=$STUB_UID frontend=${DEBIAN_FRONTEND:-unset} args=$*" >>"$STUB_DIR/apt.log"
EOF
cat >"$T/bin/id" <<'EOF'
#!/bin/bash
echo "$STUB_UID"
EOF
cat >"$T/sudo" <<'EOF'
#!/bin/bash
# Like sudo's env_reset: only PATH and the stubs' own settings survive.
exec /usr/bin/env -i PATH="$PATH" STUB_DIR="$STUB_DIR" STUB_UID=0 "$@"
EOF
chmod +x "$T/bin/"* "$T/sudo"
export STUB_DIR=$T

run() { # uid, then the packages asked for; output in $T/out
	: >"$T/apt.log"
	STUB_UID=$1 PATH="$T/bin" /bin/bash "$SCRIPT" "${@:2}" >"$T/out" 2>&1
}

printf 'cmake\ngcc\n' >"$T/installed"

# Everything there already: apt is not touched.
run 0 cmake gcc || fail "all installed: status $?"
[ -s "$T/apt.log" ] && fail "all installed: apt-get ran: $(cat "$T/apt.log")"

# As root, two missing: lists refreshed, then exactly those installed,
# with -y and no debconf question.
run 0 cmake tshark libcmocka-dev || fail "root: status $?"
mapfile -t L <"$T/apt.log"
[ ${#L[@]} -eq 2 ] || fail "root: want 2 apt-get calls, got: ${L[*]}"
[[ ${L[0]:-} == *"args=update"* ]] || fail "root: first call not update: ${L[0]:-}"
[[ ${L[1]:-} == *"args=install -y "*"tshark libcmocka-dev" ]] ||
	fail "root: install call: ${L[1]:-}"
[[ ${L[1]:-} == *"args=install"*" cmake"* ]] && fail "root: reinstalls cmake"
for l in "${L[@]}"; do
	[[ $l == *"frontend=noninteractive"* ]] || fail "root: may prompt: $l"
done

# Not root, through sudo (which drops the environment): still no prompt.
ln -s "$T/sudo" "$T/bin/sudo"
run 1000 tshark || fail "sudo: status $?"
mapfile -t L <"$T/apt.log"
[ ${#L[@]} -eq 2 ] || fail "sudo: want 2 apt-get calls, got: ${L[*]}"
for l in "${L[@]}"; do
	[[ $l == "uid=0 "* ]] || fail "sudo: apt-get not run as root: $l"
	[[ $l == *"frontend=noninteractive"* ]] || fail "sudo: may prompt: $l"
done
rm "$T/bin/sudo"

# Not root and no sudo: fails, naming what to install.
if run 1000 tshark; then
	fail "no sudo: succeeded"
fi
grep -q "apt-get install tshark" "$T/out" || fail "no sudo: says: $(cat "$T/out")"
[ -s "$T/apt.log" ] && fail "no sudo: apt-get ran"

if [ $fails -eq 0 ]; then
	echo "install-deps: 4 cases passed"
	exit 0
fi
exit 1
