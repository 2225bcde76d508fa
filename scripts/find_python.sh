#!/bin/sh
# Print the path of a Python >= 3.12 (Django 6 needs it): on PATH first, then pyenv's.
for candidate in python3.13 python3.12 \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 \
    /root/.pyenv/versions/3.13*/bin/python3.13 /root/.pyenv/versions/3.12*/bin/python3.12 \
    /usr/local/bin/python3.13 /usr/local/bin/python3.12 python3; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
        command -v "$candidate" 2>/dev/null || echo "$candidate"
        exit 0
    fi
done
echo "No Python 3.12 or 3.13 found: install one (e.g. pyenv install 3.13) and run make again." >&2
exit 1
