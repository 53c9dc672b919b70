#!/bin/sh
# Records Docker's own `docker history` output for the archives in DIR (written by
# `STRATA_DUMP_FIXTURES=DIR cargo test --test docker_history dump_fixtures_for_docker`), as the
# golden files tests/docker_history.rs compares strata with. Needs a running dockerd
# (DOCKER_HOST) and the docker CLI; see README.md beside this script.
#   tests/golden/docker/record.sh DIR
set -eu
dir=$1
here=$(dirname "$0")
export TZ=UTC
for tar in "$dir"/*.tar; do
    name=$(basename "$tar" .tar)
    docker load -i "$tar" | sed -n 's/^Loaded image: //p' > "$dir/$name.tags"
    # docker (20.10 and 26) prints nothing when it loads a pre-1.10 archive: take the one tag of its
    # `repositories` ({"name": {"tag": "id"}}) instead.
    if [ ! -s "$dir/$name.tags" ]; then
        tar -xOf "$tar" repositories | sed -E 's/^\{"([^"]+)": *\{"([^"]+)".*/\1:\2\n/' > "$dir/$name.tags"
    fi
    while read -r tag; do
        # one golden set per image; an archive of one image uses the archive's name
        if [ "$(wc -l < "$dir/$name.tags")" -eq 1 ]; then out=$name; else out="$name.${tag#*:}"; fi
        rec() { suffix=$1; shift; docker history "$@" "$tag" | sed -E "s/ [0-9] years ago/ N years ago/g; s/ [0-9]{2} years ago/ N years ago /g" > "$here/$out.$suffix.txt"; }
        rec default
        rec no-trunc --no-trunc
        rec human-false --human=false
        rec no-trunc-human-false --no-trunc --human=false
        rec quiet -q
        rec quiet-no-trunc -q --no-trunc
        rec format-json-human-false --format json --human=false
    done < "$dir/$name.tags"
done
