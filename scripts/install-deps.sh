#!/usr/bin/env bash
# Install the Debian packages given as arguments that are not installed yet.
# Never asks a question: CI has no terminal, and some packages (tshark's
# wireshark-common) ask one through debconf unless told not to.
set -euo pipefail
missing=()
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "install-deps: not root and no sudo; as root run:" \
			"apt-get install ${missing[*]}" >&2
		exit 1
	fi
	SUDO=(sudo)
fi
# Through env, since sudo drops the caller's environment (env_reset).
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
"${APT[@]}" update -q
"${APT[@]}" install -y -q --no-install-recommends "${missing[@]}"
