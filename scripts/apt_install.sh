# Sourced by the install_*.sh scripts: apt_install SCRIPT PACKAGE MISSING_NOTE installs one Debian
# package quietly, as root or through sudo, or says why it cannot and exits 1.
apt_install() {
    local script=$1 package=$2 missing_note=$3
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "$script: $missing_note and apt-get is not available; install $package by hand." >&2
        exit 1
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "$script: not root and no sudo: cannot install $package." >&2
            exit 1
        fi
    fi
    echo "$script: installing $package (apt-get)..." >&2
    # env: sudo resets the environment, so the non-interactive front end is passed explicitly
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
}
