#!/bin/sh
# Back up a cabinet into a new folder: the database (a consistent online copy), then the files
# directory, then the versions that wrote them. docs/operations.md: backups and restoring them.
#
#   CABINET_DATA_DIR=/var/lib/cabinet CABINET_DATABASE_URL=postgresql+psycopg://… \
#       deploy/backup.sh /var/lib/cabinet-backups/2026-12-07
#
# It reads the same CABINET_DATA_DIR and CABINET_DATABASE_URL as the cabinet (unset: the SQLite
# file under ./cabinet-data). PostgreSQL needs pg_dump of the server's major version or newer.
# The database goes first: a file is always written before the row that names it, so every file
# the copied database names is already there when the files are archived after it.
set -eu

dest=${1:?usage: backup.sh NEW_FOLDER}
data_dir=${CABINET_DATA_DIR:-cabinet-data}
url=${CABINET_DATABASE_URL:-}
python=${PYTHON:-python3}

if [ -e "$dest" ]; then
    echo "backup.sh: $dest already exists; name a new folder" >&2
    exit 2
fi
mkdir -p "$dest"

case "$url" in
    "" | sqlite:*)
        if [ -z "$url" ]; then
            db="$data_dir/cabinet.sqlite3"
        else
            db=${url#sqlite:///}
        fi
        if [ ! -f "$db" ]; then
            echo "backup.sh: no SQLite database at $db" >&2
            exit 1
        fi
        # SQLite's online backup (what the sqlite3 shell's .backup does): a consistent copy
        # while the cabinet keeps running.
        "$python" - "$db" "$dest/cabinet.sqlite3" <<'PY'
import sqlite3, sys
source, target = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
with target:
    source.backup(target)
target.close()
source.close()
PY
        ;;
    postgresql*)
        # pg_dump takes a libpq URL: drop SQLAlchemy's driver name.
        libpq=$(printf '%s' "$url" | sed -E 's#^postgresql\+[A-Za-z0-9_]+://#postgresql://#')
        pg_dump --format=custom --no-owner --no-privileges --file="$dest/cabinet.pgdump" \
            --dbname="$libpq"
        ;;
    *)
        echo "backup.sh: cannot back up a database at ${url%%:*}" >&2
        exit 1
        ;;
esac

mkdir -p "$data_dir/files"
tar -C "$data_dir" -cf "$dest/files.tar" files

if command -v cabinet >/dev/null 2>&1; then
    cabinet --version >"$dest/versions.txt"
fi
echo "backup.sh: $dest"
