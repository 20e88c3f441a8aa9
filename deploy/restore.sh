#!/bin/sh
# Restore a backup made by backup.sh into a fresh place: an empty PostgreSQL database or a data
# directory without a database, and an empty files directory. docs/operations.md.
#
#   CABINET_DATA_DIR=/var/lib/cabinet CABINET_DATABASE_URL=postgresql+psycopg://… \
#       deploy/restore.sh /var/lib/cabinet-backups/2026-12-07
#   cabinet migrate        # a backup from an older version is brought up to this one
#
# Stop the web processes and the worker first; it never overwrites a database or a file.
set -eu

src=${1:?usage: restore.sh BACKUP_FOLDER}
data_dir=${CABINET_DATA_DIR:-cabinet-data}
url=${CABINET_DATABASE_URL:-}

if [ ! -f "$src/files.tar" ]; then
    echo "restore.sh: $src is not a backup (no files.tar)" >&2
    exit 2
fi

case "$url" in
    "" | sqlite:*)
        if [ ! -f "$src/cabinet.sqlite3" ]; then
            echo "restore.sh: $src holds no SQLite database (a PostgreSQL backup restores" \
                "only into PostgreSQL)" >&2
            exit 2
        fi
        if [ -z "$url" ]; then
            db="$data_dir/cabinet.sqlite3"
        else
            db=${url#sqlite:///}
        fi
        if [ -e "$db" ]; then
            echo "restore.sh: $db already exists; restore into a fresh place" >&2
            exit 2
        fi
        mkdir -p "$(dirname "$db")"
        cp "$src/cabinet.sqlite3" "$db"
        ;;
    postgresql*)
        if [ ! -f "$src/cabinet.pgdump" ]; then
            echo "restore.sh: $src holds no PostgreSQL dump (a SQLite backup restores only" \
                "into SQLite)" >&2
            exit 2
        fi
        libpq=$(printf '%s' "$url" | sed -E 's#^postgresql\+[A-Za-z0-9_]+://#postgresql://#')
        tables=$(psql --no-psqlrc --tuples-only --no-align --dbname="$libpq" \
            --command="SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        if [ "$tables" != "0" ]; then
            echo "restore.sh: the database already has tables; restore into a fresh place" \
                "(an empty database: createdb)" >&2
            exit 2
        fi
        # All or nothing: one transaction, stopped at the first error (a database that is not
        # empty fails here rather than being mixed with the backup).
        pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
            --dbname="$libpq" "$src/cabinet.pgdump"
        ;;
    *)
        echo "restore.sh: cannot restore into a database at ${url%%:*}" >&2
        exit 1
        ;;
esac

mkdir -p "$data_dir"
if [ -d "$data_dir/files" ] && [ -n "$(ls -A "$data_dir/files")" ]; then
    echo "restore.sh: $data_dir/files is not empty; restore into a fresh place" >&2
    exit 2
fi
tar -C "$data_dir" -xf "$src/files.tar"
echo "restore.sh: restored $src; now run: cabinet migrate"
