#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Countersign needs, only when some are missing, so a
# second run costs a dpkg query. Usage: ensure-system-deps.sh build|test|bench
set -euo pipefail

build_packages=(libwebkit2gtk-4.1-dev build-essential libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev pkg-config file)
# What `make test` drives the real app with: a virtual display, the WebKit WebDriver, a
# private D-Bus session, a notification daemon, a Secret Service, and xdotool to see windows.
test_packages=(xvfb webkit2gtk-driver dbus dunst gnome-keyring libsecret-tools x11-utils imagemagick
  xdotool)
# What `make bench` adds: instruction counts, and Chromium with its WebDriver for the reference
# the app at 10,000 items is measured against (the same ui/dist as a web page).
bench_packages=(valgrind chromium chromium-driver)

case "${1:-build}" in
  build) wanted=("${build_packages[@]}") ;;
  test) wanted=("${build_packages[@]}" "${test_packages[@]}") ;;
  bench) wanted=("${build_packages[@]}" "${test_packages[@]}" "${bench_packages[@]}") ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for package in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "Installing system packages: ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
install() {
  "${sudo[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
# apt's archive once vanished mid-install on a CI machine; the same command then succeeded.
install || { echo "apt-get failed; retrying once" >&2; sleep 3; install; }
