#!/bin/sh
# Debian packages the project needs: pango and harfbuzz-subset (fast font subsetting) for WeasyPrint, gettext to compile translations,
# the PostgreSQL client and Redis tools used by the test set-up. Installs only what is missing.
set -e
packages="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 gettext fonts-dejavu-core postgresql-client redis-tools"
[ "${1:-}" = "--test" ] && packages="$packages postgresql redis-server"
missing=""
for package in $packages; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages:$missing. Install them: sudo apt-get install$missing" >&2
    exit 1
fi
echo "Installing$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
